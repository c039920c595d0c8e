/** Namespace URIs and the `{uri}local` key form used for every XML name in the server. */
export const DAV_NS = 'DAV:';
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
export const MS_NS = 'urn:schemas-microsoft-com:';
/** ownCloud/Nextcloud properties (oc:checksums). */
export const OC_NS = 'http://owncloud.org/ns';

export interface QName {
  ns: string;
  local: string;
}

export const qkey = (ns: string, local: string): string => `{${ns}}${local}`;

export function parseQKey(key: string): QName {
  const end = key.indexOf('}');
  return { ns: key.slice(1, end), local: key.slice(end + 1) };
}
