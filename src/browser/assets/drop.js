// The file-drop page: each picked or dropped file is PUT to the link's WebDAV root, three at a
// time, with a progress bar; the server never replaces anything (a taken name is stored under a
// free one) and says when the link's upload limit is reached.
(function () {
  'use strict';
  var base = document.body.getAttribute('data-base');
  var list = document.getElementById('upload-list');
  var input = document.getElementById('file-input');
  var messages = document.getElementById('messages');
  var queue = [];
  var active = 0;

  function say(text, kind) {
    var p = document.createElement('div');
    p.className = 'toast ' + (kind || '');
    var span = document.createElement('span');
    span.className = 'toast-text';
    span.textContent = text;
    p.appendChild(span);
    messages.appendChild(p);
  }

  function reason(status) {
    if (status === 410) return 'this link takes no more uploads';
    if (status === 413) return 'the file is too large';
    if (status === 507) return 'the server has no space left';
    if (status === 423) return 'the folder is locked right now';
    if (status === 429) return 'too many attempts; wait a while';
    if (status === 404) return 'this link no longer exists';
    if (status === 401 || status === 403) return 'this link does not take that file';
    return status ? 'the server answered ' + status : 'the connection failed';
  }

  function start(job) {
    active++;
    var xhr = new XMLHttpRequest();
    xhr.open('PUT', base + encodeURIComponent(job.file.name));
    if (job.file.type) xhr.setRequestHeader('Content-Type', job.file.type);
    xhr.upload.addEventListener('progress', function (ev) {
      if (ev.lengthComputable) job.bar.value = ev.loaded / Math.max(1, ev.total);
    });
    xhr.addEventListener('loadend', function () {
      active--;
      var ok = xhr.status === 201 || xhr.status === 204;
      job.bar.value = ok ? 1 : job.bar.value;
      job.state.textContent = ok ? 'uploaded' : 'failed: ' + reason(xhr.status);
      job.row.className = 'upload ' + (ok ? 'done' : 'failed');
      next();
    });
    job.state.textContent = 'uploading';
    xhr.send(job.file);
  }

  function next() {
    while (active < 3 && queue.length) start(queue.shift());
  }

  function add(files) {
    for (var i = 0; i < files.length; i++) {
      var row = document.createElement('li');
      row.className = 'upload';
      var name = document.createElement('span');
      name.className = 'fname';
      name.textContent = files[i].name;
      var bar = document.createElement('progress');
      bar.max = 1;
      bar.value = 0;
      var state = document.createElement('span');
      state.className = 'ustatus';
      state.textContent = 'waiting';
      row.appendChild(name);
      row.appendChild(bar);
      row.appendChild(state);
      list.appendChild(row);
      queue.push({ file: files[i], row: row, bar: bar, state: state });
    }
    next();
  }

  input.addEventListener('change', function () {
    add(input.files);
    input.value = '';
  });
  document.addEventListener('dragover', function (ev) { ev.preventDefault(); });
  document.addEventListener('drop', function (ev) {
    ev.preventDefault();
    if (ev.dataTransfer && ev.dataTransfer.files.length) add(ev.dataTransfer.files);
  });
  window.addEventListener('beforeunload', function (ev) {
    if (active + queue.length > 0) { ev.preventDefault(); ev.returnValue = ''; }
  });
  if (!window.XMLHttpRequest) say('This browser cannot upload from the page; use a WebDAV client.', 'error');
}());
