// The file page's script: upload (picker and drag and drop, with progress), new folder, rename or
// move, delete, all through the server's own WebDAV methods. Names only ever reach the page
// through textContent; requests are same-origin, so the browser's Basic credentials go along.
(function () {
  'use strict';

  var body = document.body;
  var base = body.dataset.base; // encoded href of this folder, with a trailing slash
  var root = body.dataset.root; // encoded href of the served root (honours --prefix)
  // A read-only user gets no write controls (the server renders them hidden); the server refuses
  // any write they attempt anyway with 403 "Read-only access", which describe() puts in words.
  var readOnly = body.dataset.access === 'read-only';
  var $ = function (id) { return document.getElementById(id); };

  // ---------------------------------------------------------------- helpers

  function enc(name) {
    return encodeURIComponent(name);
  }

  /** Encoded href of a member of this folder. */
  function memberHref(name, isDir) {
    return base + enc(name) + (isDir ? '/' : '');
  }

  /** Encoded href for a target typed by a person: a name here, a/b relative, or /a/b from the root. */
  function targetHref(input, isDir) {
    var absolute = input.charAt(0) === '/';
    var segs = input.split('/').filter(function (s) { return s !== '' && s !== '.'; });
    var start = absolute ? root : base;
    var parts = start.replace(/\/$/, '').split('/');
    for (var i = 0; i < segs.length; i++) {
      if (segs[i] === '..') {
        if (parts.length > root.replace(/\/$/, '').split('/').length) parts.pop();
      } else {
        parts.push(enc(segs[i]));
      }
    }
    return parts.join('/') + (isDir ? '/' : '');
  }

  function humanSize(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i === 0 ? n + ' B' : n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i];
  }

  /** Readable message for a failed request (status, response text, content type). */
  function describe(action, name, status, text, type) {
    var what = '"' + name + '"';
    var plain = text && /^text\/plain/.test(type || '') ? text.trim() : '';
    var msg;
    switch (status) {
      case 0: msg = 'the connection to the server was lost'; break;
      case 401: msg = 'you are not signed in, or your password was refused (reload the page to sign in)'; break;
      case 403:
        msg = plain === 'Reserved name' ? 'that name is reserved by the server'
          : plain === 'Read-only access' ? 'you have read-only access, so you can browse and download but not change files'
          : 'you are not allowed to do that here';
        break;
      case 404: msg = what + ' no longer exists (reload the page)'; break;
      case 405: msg = action === 'create folder' ? 'something named ' + what + ' already exists' : 'the server does not allow that here'; break;
      case 409: msg = 'the target folder does not exist, or ' + what + ' is in the way'; break;
      case 412: msg = 'something with that name already exists'; break;
      case 413: msg = what + ' is too large for the server'; break;
      case 414: msg = 'the name is too long'; break;
      case 423: msg = what + ' is locked by a WebDAV client that is editing it; try again once it is closed'; break;
      case 502: msg = 'the destination is on another server'; break;
      case 503: msg = 'the server is busy; try again in a moment'; break;
      case 507: msg = 'there is not enough space left on the server'; break;
      default: msg = 'the server answered ' + status + (plain ? ' (' + plain + ')' : '');
    }
    // Our server names the conflict in plain words (e.g. "Parent collection does not exist").
    if (status === 409 && plain) msg = plain.charAt(0).toLowerCase() + plain.slice(1).replace(/\.$/, '');
    return 'Could not ' + action + ' ' + what + ': ' + msg + '.';
  }

  // ---------------------------------------------------------------- messages

  function notify(text, kind) {
    var box = document.createElement('div');
    box.className = 'msg ' + (kind || 'info');
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    var p = document.createElement('span');
    p.textContent = text;
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'close';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '\u00d7';
    close.addEventListener('click', function () { box.remove(); });
    box.appendChild(p);
    box.appendChild(close);
    $('messages').appendChild(box);
    if (kind !== 'error') setTimeout(function () { box.remove(); }, 5000);
  }

  // ---------------------------------------------------------------- dialog

  /** Asks through the page's dialog; resolves with the input's value (or true), or null on cancel. */
  function ask(opts) {
    var dlg = $('dialog');
    var input = $('dialog-input');
    $('dialog-title').textContent = opts.title;
    $('dialog-text').textContent = opts.text || '';
    $('dialog-ok').textContent = opts.ok || 'OK';
    $('dialog-ok').className = 'btn ' + (opts.danger ? 'danger' : 'primary');
    input.hidden = opts.value === undefined;
    input.value = opts.value || '';
    return new Promise(function (resolve) {
      function done(result) {
        $('dialog-form').removeEventListener('submit', onSubmit);
        $('dialog-cancel').removeEventListener('click', onCancel);
        dlg.removeEventListener('cancel', onCancel);
        dlg.close();
        resolve(result);
      }
      function onSubmit(ev) {
        ev.preventDefault();
        if (input.hidden) return done(true);
        var v = input.value.trim();
        done(v === '' ? null : v);
      }
      function onCancel(ev) {
        if (ev) ev.preventDefault();
        done(null);
      }
      $('dialog-form').addEventListener('submit', onSubmit);
      $('dialog-cancel').addEventListener('click', onCancel);
      dlg.addEventListener('cancel', onCancel);
      dlg.showModal();
      if (!input.hidden) {
        input.focus();
        var dot = opts.selectStem ? input.value.lastIndexOf('.') : -1;
        input.setSelectionRange(0, dot > 0 ? dot : input.value.length);
      } else {
        $('dialog-ok').focus();
      }
    });
  }

  // ---------------------------------------------------------------- requests

  /** One WebDAV request; resolves with { status, text, type } (never rejects). */
  function dav(method, url, headers) {
    return fetch(url, { method: method, headers: headers || {}, credentials: 'same-origin', cache: 'no-store' }).then(
      function (res) {
        return res.text().then(function (text) {
          return { status: res.status, text: text, type: res.headers.get('content-type') || '' };
        });
      },
      function () { return { status: 0, text: '', type: '' }; }
    );
  }

  /** Fetches this folder's page again and swaps in the new listing (the upload panel stays). */
  function refresh() {
    return fetch(location.href, { headers: { Accept: 'text/html' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.getElementById('listing');
        if (fresh) $('listing').replaceWith(document.importNode(fresh, true));
        localTimes();
      })
      .catch(function () { /* the old listing stays */ });
  }

  function existingNames() {
    var names = new Map();
    document.querySelectorAll('tr.entry').forEach(function (tr) { names.set(tr.dataset.name, tr.dataset.dir === '1'); });
    return names;
  }

  // ---------------------------------------------------------------- upload

  var queue = [];
  var active = 0;
  var totals = { loaded: 0, size: 0, done: 0, failed: 0, count: 0 };
  var PARALLEL = 3;

  function updateOverall() {
    var frac = totals.size > 0 ? totals.loaded / totals.size : (totals.done === totals.count ? 1 : 0);
    $('overall-progress').value = frac;
    $('overall-pct').textContent = Math.floor(frac * 100) + '%';
    $('overall-label').textContent = active + queue.length > 0
      ? 'Uploading ' + (totals.done + totals.failed + 1 > totals.count ? totals.count : totals.done + totals.failed + 1) + ' of ' + totals.count
      : 'Uploaded ' + totals.done + ' of ' + totals.count + (totals.failed ? ' (' + totals.failed + ' failed)' : '');
  }

  function addUploads(files, replace) {
    var list = $('upload-list');
    if (active + queue.length === 0) {
      totals = { loaded: 0, size: 0, done: 0, failed: 0, count: 0 };
      list.textContent = '';
    }
    $('uploads').hidden = false;
    files.forEach(function (file) {
      var li = document.createElement('li');
      li.className = 'upload';
      var name = document.createElement('span');
      name.className = 'fname';
      name.textContent = file.name;
      var bar = document.createElement('progress');
      bar.max = 1;
      bar.value = 0;
      var status = document.createElement('span');
      status.className = 'ustatus';
      status.textContent = humanSize(file.size);
      li.appendChild(name);
      li.appendChild(bar);
      li.appendChild(status);
      list.appendChild(li);
      totals.size += file.size;
      totals.count++;
      queue.push({ file: file, li: li, bar: bar, status: status, loaded: 0, replace: replace.has(file.name) });
    });
    updateOverall();
    pump();
  }

  function pump() {
    while (active < PARALLEL && queue.length > 0) start(queue.shift());
  }

  function start(job) {
    active++;
    var xhr = new XMLHttpRequest();
    xhr.open('PUT', memberHref(job.file.name, false));
    xhr.withCredentials = true;
    // Never overwrite by accident: a file that appeared since the page was loaded answers 412.
    if (!job.replace) xhr.setRequestHeader('If-None-Match', '*');
    if (job.file.type) xhr.setRequestHeader('Content-Type', job.file.type);
    xhr.upload.addEventListener('progress', function (ev) {
      var loaded = ev.lengthComputable ? ev.loaded : 0;
      totals.loaded += loaded - job.loaded;
      job.loaded = loaded;
      job.bar.value = job.file.size ? loaded / job.file.size : 1;
      job.status.textContent = humanSize(loaded) + ' / ' + humanSize(job.file.size);
      updateOverall();
    });
    function finish(status, text, type) {
      active--;
      totals.loaded += job.file.size - job.loaded;
      job.loaded = job.file.size;
      if (status >= 200 && status < 300) {
        totals.done++;
        job.bar.value = 1;
        job.li.classList.add('ok');
        job.status.textContent = 'Done';
      } else {
        totals.failed++;
        job.li.classList.add('failed');
        job.status.textContent = 'Failed';
        notify(describe('upload', job.file.name, status, text, type), 'error');
      }
      updateOverall();
      if (active + queue.length === 0) {
        refresh();
        if (totals.failed === 0) notify('Uploaded ' + totals.done + (totals.done === 1 ? ' file.' : ' files.'), 'ok');
      } else {
        pump();
      }
    }
    xhr.addEventListener('load', function () { finish(xhr.status, xhr.responseText, xhr.getResponseHeader('content-type')); });
    xhr.addEventListener('error', function () { finish(0, '', ''); });
    xhr.addEventListener('abort', function () { finish(0, '', ''); });
    xhr.send(job.file);
  }

  /** Uploads files after asking about the ones that would replace something. */
  function upload(files) {
    if (files.length === 0) return;
    var names = existingNames();
    var dirs = files.filter(function (f) { return names.get(f.name) === true; });
    dirs.forEach(function (f) { notify('Could not upload "' + f.name + '": a folder with that name exists here.', 'error'); });
    files = files.filter(function (f) { return names.get(f.name) !== true; });
    var clashes = files.filter(function (f) { return names.has(f.name); });
    if (clashes.length === 0) return addUploads(files, new Set());
    var list = clashes.map(function (f) { return f.name; }).join(', ');
    ask({
      title: clashes.length === 1 ? 'Replace a file?' : 'Replace ' + clashes.length + ' files?',
      text: 'Already here: ' + list + '. Replace with the uploaded version? (Cancel uploads only the new ones.)',
      ok: 'Replace',
      danger: true,
    }).then(function (yes) {
      var replace = new Set(yes ? clashes.map(function (f) { return f.name; }) : []);
      var todo = yes ? files : files.filter(function (f) { return !names.has(f.name); });
      addUploads(todo, replace);
    });
  }

  $('file-input').addEventListener('change', function (ev) {
    var files = Array.prototype.slice.call(ev.target.files || []);
    ev.target.value = '';
    upload(files);
  });

  // Drag and drop anywhere on the page.
  var depth = 0;
  function hasFiles(ev) {
    return ev.dataTransfer && Array.prototype.indexOf.call(ev.dataTransfer.types, 'Files') !== -1;
  }
  document.addEventListener('dragenter', function (ev) {
    if (!hasFiles(ev) || readOnly) return;
    ev.preventDefault();
    depth++;
    $('drop-overlay').hidden = false;
  });
  document.addEventListener('dragover', function (ev) {
    if (!hasFiles(ev)) return;
    // Cancelled either way, or the browser would open the dropped file in place of the page.
    ev.preventDefault();
    ev.dataTransfer.dropEffect = readOnly ? 'none' : 'copy';
  });
  document.addEventListener('dragleave', function (ev) {
    if (!hasFiles(ev) || readOnly) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) $('drop-overlay').hidden = true;
  });
  document.addEventListener('drop', function (ev) {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    if (readOnly) return notify('You have read-only access here: files cannot be uploaded.', 'error');
    depth = 0;
    $('drop-overlay').hidden = true;
    var files = [];
    var items = ev.dataTransfer.items;
    for (var i = 0; i < ev.dataTransfer.files.length; i++) {
      var entry = items && items[i] && items[i].webkitGetAsEntry ? items[i].webkitGetAsEntry() : null;
      var f = ev.dataTransfer.files[i];
      if (entry && entry.isDirectory) notify('Skipped the folder "' + f.name + '": drop the files inside it, or create the folder first.', 'error');
      else files.push(f);
    }
    upload(files);
  });

  // ---------------------------------------------------------------- folder, rename, delete

  $('new-folder').addEventListener('click', function () {
    ask({ title: 'New folder', text: 'Name of the new folder:', value: '', ok: 'Create' }).then(function (name) {
      if (name === null) return;
      if (name.indexOf('/') !== -1) return notify('A folder name cannot contain "/".', 'error');
      if (name === '.' || name === '..') return notify('"' + name + '" cannot be used as a folder name.', 'error');
      dav('MKCOL', memberHref(name, true)).then(function (r) {
        if (r.status === 201) {
          notify('Created the folder "' + name + '".', 'ok');
          refresh();
        } else {
          notify(describe('create folder', name, r.status, r.text, r.type), 'error');
        }
      });
    });
  });

  function rename(name, isDir) {
    ask({
      title: 'Rename or move',
      text: 'New name for "' + name + '" (a/b moves it into a folder here, /a/b from the top):',
      value: name,
      ok: 'Rename',
      selectStem: !isDir,
    }).then(function (target) {
      if (target === null || target === name) return;
      var dest = location.origin + targetHref(target, isDir);
      dav('MOVE', memberHref(name, isDir), { Destination: dest, Overwrite: 'F' }).then(function (r) {
        if (r.status === 201 || r.status === 204) {
          notify('Renamed "' + name + '" to "' + target + '".', 'ok');
          refresh();
        } else {
          notify(describe('rename', name, r.status, r.text, r.type), 'error');
        }
      });
    });
  }

  function remove(name, isDir) {
    ask({
      title: isDir ? 'Delete folder?' : 'Delete file?',
      text: isDir ? 'Delete the folder "' + name + '" and everything in it? This cannot be undone.' : 'Delete "' + name + '"? This cannot be undone.',
      ok: 'Delete',
      danger: true,
    }).then(function (yes) {
      if (!yes) return;
      dav('DELETE', memberHref(name, isDir)).then(function (r) {
        if (r.status === 204 || r.status === 200) {
          notify('Deleted "' + name + '".', 'ok');
        } else if (r.status === 207) {
          var locked = /423/.test(r.text);
          notify('Could not delete everything in "' + name + '": ' + (locked ? 'some items are locked by a WebDAV client.' : 'some items could not be removed.'), 'error');
        } else {
          notify(describe('delete', name, r.status, r.text, r.type), 'error');
        }
        refresh();
      });
    });
  }

  document.addEventListener('click', function (ev) {
    var btn = ev.target.closest ? ev.target.closest('button.op') : null;
    if (!btn) return;
    var tr = btn.closest('tr.entry');
    if (!tr) return;
    var isDir = tr.dataset.dir === '1';
    if (btn.dataset.op === 'rename') rename(tr.dataset.name, isDir);
    else if (btn.dataset.op === 'delete') remove(tr.dataset.name, isDir);
  });

  // ---------------------------------------------------------------- local times

  function localTimes() {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) {
      return;
    }
    document.querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d.getTime())) {
        t.textContent = fmt.format(d);
        t.title = d.toISOString();
      }
    });
  }

  localTimes();
  body.classList.add('js');
})();
