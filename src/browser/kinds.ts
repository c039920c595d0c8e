/**
 * What kind of file a name is, for the page: which icon it gets, whether the viewer can show
 * it, whether the server makes thumbnails of it, whether the page may edit it as text, and which
 * desktop application opens it. Decided from the name alone, like getcontenttype.
 */
export type FileKind = 'dir' | 'image' | 'video' | 'audio' | 'pdf' | 'markdown' | 'text' | 'code' | 'word' | 'excel' | 'powerpoint' | 'office' | 'archive' | 'file';

const BY_EXT: Record<string, FileKind> = {};
const add = (kind: FileKind, exts: string): void => {
  for (const e of exts.split(' ')) BY_EXT[e] = kind;
};
add('image', 'jpg jpeg jpe png gif webp avif bmp svg ico');
add('video', 'mp4 m4v webm ogv mov');
add('audio', 'mp3 ogg oga opus wav flac m4a aac weba');
add('pdf', 'pdf');
add('markdown', 'md markdown mdown mkd');
add('text', 'txt text log csv tsv ini cfg conf env srt vtt nfo rst adoc tex');
add(
  'code',
  'json jsonc json5 xml yaml yml toml js mjs cjs ts tsx jsx css scss less html htm vue svelte py rb go rs java kt kts c h cc cpp hpp cs swift ' +
    'php pl pm lua r sql sh bash zsh fish ps1 bat cmd mk cmake gradle properties dockerfile makefile gitignore editorconfig diff patch',
);
add('word', 'doc docx docm dot dotx dotm rtf');
add('excel', 'xls xlsx xlsm xlsb xlt xltx xltm');
add('powerpoint', 'ppt pptx pptm pps ppsx pot potx');
add('office', 'odt ott ods ots odp otp odg');
add('archive', 'zip tar gz tgz bz2 xz zst 7z rar');

/** Raster formats the prebuilt libvips reads safely; SVG is left to the browser's <img>. */
const THUMBNAILABLE = new Set(['jpg', 'jpeg', 'jpe', 'png', 'gif', 'webp', 'avif', 'tif', 'tiff']);

function ext(name: string): string {
  const dot = name.lastIndexOf('.');
  // A bare "Makefile" or "Dockerfile" is code too.
  return (dot <= 0 ? name : name.slice(dot + 1)).toLowerCase();
}

export function kindOf(name: string, isCollection: boolean): FileKind {
  if (isCollection) return 'dir';
  return BY_EXT[ext(name)] ?? 'file';
}

export const canThumbnail = (name: string): boolean => THUMBNAILABLE.has(ext(name));

/** Largest file the page opens in its text editor (and previews as text). */
export const EDIT_MAX = 1024 * 1024;

export const isTextKind = (k: FileKind): boolean => k === 'text' || k === 'code' || k === 'markdown';
