// Uploads: files and whole folders (picker, or drag and drop anywhere on the page), a progress bar
// per file and overall, cancel per file and for all, a warning before leaving while uploads run,
// and failures shown as failures.
//
// Transports: each way of sending one file is one function in DavPage.transports taking
// (job, events) and returning { abort() }; it reports events.progress(bytesSent) and finally
// events.done(status, text, contentType) exactly once. `put` sends the file in one PUT.
// DavPage.chooseTransport(file) picks one per file: a resumable big-file transport (tus at
// /.dav/uploads/) plugs in by adding DavPage.transports.tus and choosing it above a size.
(function () {
  'use strict';

  var D = window.DavPage;
  if (!D || D.readOnly || !D.$('upload-list')) {
    if (D && D.readOnly) {
      // Dropping files on a read-only page explains itself instead of opening the file.
      document.addEventListener('dragover', function (ev) { ev.preventDefault(); if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'none'; });
      document.addEventListener('drop', function (ev) {
        ev.preventDefault();
        D.notify('You have read-only access here: files cannot be uploaded.', 'error');
      });
    }
    return;
  }
  var $ = D.$;
  var el = D.el;

  // ---------------------------------------------------------------- transports

  /** One PUT of the whole file (XMLHttpRequest: fetch cannot report upload progress). */
  function putTransport(job, events) {
    var xhr = new XMLHttpRequest();
    xhr.open('PUT', job.href);
    xhr.withCredentials = true;
    var h = D.pageHeaders({});
    Object.keys(h).forEach(function (k) { xhr.setRequestHeader(k, h[k]); });
    // Never overwrite by accident: a file that appeared since the page was loaded answers 412.
    if (!job.replace) xhr.setRequestHeader('If-None-Match', '*');
    if (job.file.type) xhr.setRequestHeader('Content-Type', job.file.type);
    xhr.upload.addEventListener('progress', function (ev) { if (ev.lengthComputable) events.progress(ev.loaded); });
    xhr.addEventListener('load', function () { events.done(xhr.status, xhr.responseText, xhr.getResponseHeader('content-type')); });
    xhr.addEventListener('error', function () { events.done(0, '', ''); });
    xhr.addEventListener('abort', function () { events.done(-1, '', ''); });
    xhr.send(job.file);
    return { abort: function () { xhr.abort(); } };
  }

  D.transports = { put: putTransport };
  D.chooseTransport = function (/* file */) { return D.transports.put; };

  // ---------------------------------------------------------------- queue

  var PARALLEL = 3;
  var jobs = [];
  var queue = [];
  var active = 0;

  var running = (D.uploading = function () { return active + queue.length > 0; });

  function counts() {
    var c = { done: 0, failed: 0, cancelled: 0, uploading: 0, waiting: 0, loaded: 0, size: 0 };
    jobs.forEach(function (j) {
      c[j.state]++;
      if (j.state !== 'cancelled') { c.loaded += j.loaded; c.size += j.file.size; }
    });
    return c;
  }

  function updateOverall() {
    var c = counts();
    var frac = c.size > 0 ? c.loaded / c.size : c.done + c.failed === jobs.length ? 1 : 0;
    $('overall-progress').value = frac;
    $('overall-pct').textContent = Math.floor(frac * 100) + '%';
    var total = jobs.length;
    var extra = (c.failed ? ', ' + c.failed + ' failed' : '') + (c.cancelled ? ', ' + c.cancelled + ' cancelled' : '');
    $('overall-label').textContent = running()
      ? 'Uploading: ' + c.done + ' of ' + total + ' done, ' + c.uploading + ' in progress' + (c.waiting ? ', ' + c.waiting + ' waiting' : '') + extra
      : 'Uploaded ' + c.done + ' of ' + total + (extra ? ' (' + extra.slice(2) + ')' : '');
    $('cancel-all').hidden = !running();
    $('uploads').classList.toggle('has-failures', c.failed > 0);
  }

  function setStatus(job, text, title) {
    job.status.textContent = text;
    job.status.title = title || '';
  }

  function addJob(file, href, label, replace) {
    var li = el('li', 'upload waiting');
    li.appendChild(el('span', 'fname', label));
    var bar = el('progress');
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute('aria-label', 'Upload of ' + label);
    li.appendChild(bar);
    var status = el('span', 'ustatus', D.humanSize(file.size));
    li.appendChild(status);
    var cancel = el('button', 'op cancel');
    cancel.type = 'button';
    cancel.setAttribute('aria-label', 'Cancel upload of ' + label);
    cancel.title = 'Cancel';
    cancel.appendChild(D.icon('close'));
    li.appendChild(cancel);
    $('upload-list').appendChild(li);
    var job = { file: file, href: href, label: label, replace: replace, li: li, bar: bar, status: status, cancel: cancel, loaded: 0, state: 'waiting', handle: null };
    cancel.addEventListener('click', function () { cancelJob(job); });
    jobs.push(job);
    queue.push(job);
    return job;
  }

  function setState(job, s) {
    job.li.classList.remove(job.state);
    job.state = s;
    job.li.classList.add(s);
  }

  function cancelJob(job) {
    if (job.state === 'waiting') {
      queue.splice(queue.indexOf(job), 1);
      finishJob(job, 'cancelled');
    } else if (job.state === 'uploading' && job.handle) {
      job.cancelled = true;
      job.handle.abort();
    }
  }

  function finishJob(job, s, message) {
    setState(job, s);
    job.cancel.hidden = true;
    if (s === 'done') {
      job.loaded = job.file.size;
      job.bar.value = 1;
      setStatus(job, 'Done');
    } else if (s === 'cancelled') {
      setStatus(job, 'Cancelled');
    } else {
      // A failure stored nothing: the bar goes back to empty, marked as failed, never "100%".
      job.bar.value = 0;
      setStatus(job, 'Failed', message);
      job.bar.setAttribute('aria-label', 'Upload of ' + job.label + ' failed');
    }
    updateOverall();
  }

  function pump() {
    while (active < PARALLEL && queue.length > 0) start(queue.shift());
    if (!running()) allDone();
  }

  function start(job) {
    active++;
    setState(job, 'uploading');
    var transport = D.chooseTransport(job.file);
    job.handle = transport(job, {
      progress: function (loaded) {
        job.loaded = loaded;
        job.bar.value = job.file.size ? loaded / job.file.size : 1;
        setStatus(job, D.humanSize(loaded) + ' / ' + D.humanSize(job.file.size));
        updateOverall();
      },
      done: function (status, text, type) {
        active--;
        if (status >= 200 && status < 300) finishJob(job, 'done');
        else if (status === -1 || job.cancelled) finishJob(job, 'cancelled');
        else {
          var msg = D.describe('upload', job.label, status, text, type);
          finishJob(job, 'failed', msg);
          D.notify(msg, 'error');
        }
        pump();
      },
    });
    updateOverall();
  }

  function allDone() {
    var c = counts();
    D.refresh().then(function () {
      if (c.failed === 0 && c.done > 0) D.notify('Uploaded ' + c.done + (c.done === 1 ? ' file.' : ' files.') + (c.cancelled ? ' ' + c.cancelled + ' cancelled.' : ''), 'ok');
      else if (c.failed > 0) D.notify(c.failed + (c.failed === 1 ? ' upload failed' : ' uploads failed') + '; see the list of uploads.', 'error');
    });
  }

  $('cancel-all').addEventListener('click', function () {
    queue.slice().forEach(cancelJob);
    jobs.forEach(function (j) { if (j.state === 'uploading') cancelJob(j); });
  });

  // Leaving the page would cut the uploads off: the browser asks first.
  window.addEventListener('beforeunload', function (ev) {
    if (!running()) return;
    ev.preventDefault();
    ev.returnValue = '';
  });

  function beginBatch() {
    if (!running()) {
      jobs = [];
      $('upload-list').textContent = '';
    }
    $('uploads').hidden = false;
  }

  // ---------------------------------------------------------------- files and folders

  /**
   * Uploads items: [{ file, path: 'a/b/name' relative to this folder }] plus folders to create
   * ('a', 'a/b'; parents first). Asks once about replacing existing files or merging into
   * existing folders at the top level.
   */
  function upload(items, dirs) {
    if (items.length === 0 && dirs.length === 0) return;
    var names = D.names();
    var tops = new Map();
    items.forEach(function (it) { tops.set(it.path.split('/')[0], it.path.indexOf('/') === -1); });
    dirs.forEach(function (d) { tops.set(d.split('/')[0], false); });
    var blocked = [];
    var clashes = [];
    tops.forEach(function (isFile, top) {
      if (!names.has(top)) return;
      if (isFile === names.get(top)) blocked.push(top); // a file where a folder is, or the reverse
      else clashes.push(top + (isFile ? '' : '/'));
    });
    blocked.forEach(function (t) { D.notify('Could not upload "' + t + '": ' + (names.get(t) ? 'a folder' : 'a file') + ' with that name is here.', 'error'); });
    items = items.filter(function (it) { return blocked.indexOf(it.path.split('/')[0]) === -1; });
    dirs = dirs.filter(function (d) { return blocked.indexOf(d.split('/')[0]) === -1; });
    if (clashes.length === 0) return send(items, dirs, false);
    D.ask({
      title: clashes.length === 1 ? 'Replace what is already here?' : 'Replace ' + clashes.length + ' items?',
      text: 'Already here: ' + clashes.join(', ') + '. Replace files with the uploaded versions (folders are merged)? Cancel uploads only what is new.',
      ok: 'Replace',
      danger: true,
    }).then(function (yes) {
      if (!yes) {
        var skip = clashes.map(function (c) { return c.replace(/\/$/, ''); });
        items = items.filter(function (it) { return skip.indexOf(it.path.split('/')[0]) === -1; });
        dirs = dirs.filter(function (d) { return skip.indexOf(d.split('/')[0]) === -1; });
      }
      send(items, dirs, !!yes);
    });
  }

  function hrefOf(path, isDir) {
    return D.base + path.split('/').map(D.enc).join('/') + (isDir ? '/' : '');
  }

  /** Creates the folders (parents first, one at a time), then queues the files. */
  function send(items, dirs, replace) {
    if (!items.length && !dirs.length) return;
    beginBatch();
    var all = new Set(dirs);
    items.forEach(function (it) {
      var parts = it.path.split('/');
      for (var i = 1; i < parts.length; i++) all.add(parts.slice(0, i).join('/'));
    });
    var ordered = Array.from(all).sort(function (a, b) { return a.split('/').length - b.split('/').length || (a < b ? -1 : 1); });
    var failedDirs = [];
    var i = 0;
    function mk() {
      if (i >= ordered.length) return Promise.resolve();
      var d = ordered[i++];
      if (failedDirs.some(function (f) { return d.indexOf(f + '/') === 0; })) return mk();
      return D.dav('MKCOL', hrefOf(d, true)).then(function (r) {
        // 405: it exists already (a merge), which is fine.
        if (r.status !== 201 && r.status !== 405) {
          failedDirs.push(d);
          D.notify(D.describe('create folder', d, r.status, r.text, r.type), 'error');
        }
        return mk();
      });
    }
    if (ordered.length) $('overall-label').textContent = 'Creating ' + ordered.length + (ordered.length === 1 ? ' folder…' : ' folders…');
    mk().then(function () {
      items.forEach(function (it) {
        var job = addJob(it.file, hrefOf(it.path, false), it.path, replace);
        if (failedDirs.some(function (f) { return it.path.indexOf(f + '/') === 0; })) {
          queue.splice(queue.indexOf(job), 1);
          finishJob(job, 'failed', 'Its folder could not be created.');
        }
      });
      updateOverall();
      pump();
    });
  }

  $('file-input').addEventListener('change', function (ev) {
    var files = Array.prototype.slice.call(ev.target.files || []);
    ev.target.value = '';
    upload(files.map(function (f) { return { file: f, path: f.name }; }), []);
  });

  $('folder-input').addEventListener('change', function (ev) {
    var files = Array.prototype.slice.call(ev.target.files || []);
    ev.target.value = '';
    upload(files.map(function (f) { return { file: f, path: f.webkitRelativePath || f.name }; }), []);
  });

  /** Reads a dropped folder (FileSystemEntry) into files and folders, recursively. */
  function readEntry(entry, prefix, items, dirs) {
    if (entry.isFile) {
      return new Promise(function (resolve) {
        entry.file(function (f) { items.push({ file: f, path: prefix + f.name }); resolve(); }, function () { resolve(); });
      });
    }
    if (!entry.isDirectory) return Promise.resolve();
    var path = prefix + entry.name;
    dirs.push(path);
    var reader = entry.createReader();
    return new Promise(function (resolve) {
      var all = [];
      (function more() {
        // readEntries answers in batches (100 in Chromium) until an empty one.
        reader.readEntries(function (batch) {
          if (!batch.length) {
            Promise.all(all.map(function (c) { return readEntry(c, path + '/', items, dirs); })).then(function () { resolve(); });
            return;
          }
          all = all.concat(Array.prototype.slice.call(batch));
          more();
        }, function () { resolve(); });
      })();
    });
  }

  // Drag and drop anywhere on the page.
  var depth = 0;
  function hasFiles(ev) {
    return ev.dataTransfer && Array.prototype.indexOf.call(ev.dataTransfer.types, 'Files') !== -1;
  }
  document.addEventListener('dragenter', function (ev) {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth++;
    $('drop-overlay').hidden = false;
  });
  document.addEventListener('dragover', function (ev) {
    if (!hasFiles(ev)) return;
    // Cancelled either way, or the browser would open the dropped file in place of the page.
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('dragleave', function (ev) {
    if (!hasFiles(ev)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) $('drop-overlay').hidden = true;
  });
  document.addEventListener('drop', function (ev) {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth = 0;
    $('drop-overlay').hidden = true;
    var dt = ev.dataTransfer;
    var entries = [];
    var plain = [];
    for (var i = 0; i < dt.files.length; i++) {
      var item = dt.items && dt.items[i];
      var entry = item && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (entry && entry.isDirectory) entries.push(entry);
      else plain.push({ file: dt.files[i], path: dt.files[i].name });
    }
    var items = plain;
    var dirs = [];
    Promise.all(entries.map(function (e) { return readEntry(e, '', items, dirs); })).then(function () { upload(items, dirs); });
  });
})();
