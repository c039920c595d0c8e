/** --depth-infinity and --hide-os-junk work as flags, environment variables and config keys. */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { ensureBuilt } from '../helpers/dav.js';
import { cliPath } from '../helpers/server.js';
import { optionsFromEnv, optionsFromObject } from '../../src/config-file.js';
import { ConfigError, resolveOptions } from '../../src/config.js';

describe('options: --depth-infinity, --hide-os-junk', () => {
  it('defaults: depth infinity on, OS junk stored', () => {
    const o = resolveOptions({});
    expect(o.depthInfinity).to.equal('on');
    expect(o.hideOsJunk).to.equal(false);
  });
  it('flags: listed in --help, and a bad value stops the CLI with exit code 2', async function () {
    this.timeout(120_000);
    await ensureBuilt();
    const help = execFileSync(process.execPath, [cliPath, '--help'], { encoding: 'utf8' });
    expect(help).to.include('--depth-infinity on|off').and.include('--hide-os-junk');
    let code = 0;
    try {
      execFileSync(process.execPath, [cliPath, '--depth-infinity', 'maybe', '--port', '0'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    expect(code).to.equal(2);
  });
  it('environment', () => {
    const e = optionsFromEnv({ WEBDAV_DEPTH_INFINITY: 'OFF', WEBDAV_HIDE_OS_JUNK: 'yes' });
    expect(resolveOptions(e).depthInfinity).to.equal('off');
    expect(e.hideOsJunk).to.equal(true);
  });
  it('config file keys (flag and camelCase form)', () => {
    expect(optionsFromObject({ 'depth-infinity': 'off', 'hide-os-junk': true }, 'c.yaml')).to.deep.include({ depthInfinity: 'off', hideOsJunk: true });
    expect(optionsFromObject({ depthInfinity: 'on', hideOsJunk: false }, 'c.yaml')).to.deep.include({ depthInfinity: 'on', hideOsJunk: false });
  });
  it('a value other than on/off is a clear configuration error', () => {
    expect(() => resolveOptions({ depthInfinity: 'sometimes' })).to.throw(ConfigError, /depth-infinity: sometimes \(use on or off\)/);
  });
});
