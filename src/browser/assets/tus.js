// Resumable uploads of big files: a file larger than DavPage.tusChunk goes through tus 1.0 at
// <prefix>/.dav/uploads/ in requests of at most DavPage.tusChunk bytes (well below the 100 MB a
// proxy such as Cloudflare's lets through in one request). When a chunk fails (the connection
// dropped, the server restarted) the page asks the server how much it stored (HEAD) and carries
// on from there; the upload's URL is kept in localStorage, so after a reload, choosing the same
// file for the same place resumes it instead of starting over. The server commits the file like
// a PUT once the last byte arrived (If-None-Match: * unless the user chose to replace).
(function () {
  'use strict';

  var D = window.DavPage;
  if (!D || !D.transports || !document.body.dataset.dav) return;
  var endpoint = document.body.dataset.dav + 'uploads/';
  var TUS = '1.0.0';
  /** Waits before the attempts that follow a failure; then the upload is given up as failed. */
  var BACKOFF = [500, 1000, 2000, 4000, 8000, 15000, 30000];

  D.tusChunk = 32 * 1024 * 1024;

  var viaPut = D.chooseTransport;
  D.chooseTransport = function (file) {
    return file.size > D.tusChunk ? D.transports.tus : viaPut(file);
  };

  function storageKey(job) {
    var f = job.file;
    return 'dav-tus ' + JSON.stringify([job.href, f.name, f.size, f.lastModified]);
  }
  function remembered(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }
  function remember(key, url) {
    try {
      if (url) localStorage.setItem(key, url);
      else localStorage.removeItem(key);
    } catch (e) { /* private mode: resuming after a reload is lost, nothing else */ }
  }

  D.transports.tus = function (job, events) {
    var file = job.file;
    var key = storageKey(job);
    var url = remembered(key);
    var offset = 0;
    var chunk = D.tusChunk;
    var xhr = null;
    var timer = null;
    var failures = 0;
    var over = false;

    function send(method, target, headers, body, onDone) {
      xhr = new XMLHttpRequest();
      xhr.open(method, target);
      xhr.withCredentials = true;
      var h = D.pageHeaders(headers);
      h['Tus-Resumable'] = TUS;
      // A file that appeared meanwhile is not overwritten unless the user chose to replace.
      if (!job.replace && method !== 'HEAD') h['If-None-Match'] = '*';
      Object.keys(h).forEach(function (k) { xhr.setRequestHeader(k, h[k]); });
      var x = xhr;
      x.addEventListener('load', function () { if (!over) onDone(x); });
      x.addEventListener('error', function () { if (!over) onDone(null); });
      x.send(body === undefined ? null : body);
      return x;
    }

    function finish(status, text, type) {
      if (over) return;
      over = true;
      clearTimeout(timer);
      // Done, or refused for good: nothing left to resume.
      if (status !== 0) remember(key, null);
      events.done(status, text, type);
    }

    function refused(x) {
      finish(x.status, x.responseText, x.getResponseHeader('content-type'));
    }

    /** A network failure or a passing refusal: wait, ask where the upload stands, go on. */
    function retry(x) {
      if (failures >= BACKOFF.length) {
        if (x) refused(x);
        else finish(0, '', '');
        return;
      }
      timer = setTimeout(url ? locate : create, BACKOFF[failures++]);
    }

    function passing(status) {
      return status === 0 || status === 423 || status === 429 || status >= 500;
    }

    function create() {
      var meta = 'path ' + btoa(job.href) + ',filename ' + btoa(unescape(encodeURIComponent(file.name)));
      send('POST', endpoint, { 'Upload-Length': String(file.size), 'Upload-Metadata': meta }, undefined, function (x) {
        if (x && x.status === 201 && x.getResponseHeader('location')) {
          url = x.getResponseHeader('location');
          remember(key, url);
          offset = 0;
          patch();
        } else if (!x || passing(x.status)) retry(x);
        else refused(x);
      });
    }

    /** HEAD: how many bytes the server has; an upload it no longer knows is started again. */
    function locate() {
      send('HEAD', url, {}, undefined, function (x) {
        if (x && x.status === 200 && x.getResponseHeader('upload-length') === String(file.size)) {
          offset = Number(x.getResponseHeader('upload-offset'));
          events.progress(offset);
          patch();
        } else if (x && (x.status === 404 || x.status === 410 || x.status === 200)) {
          url = null;
          remember(key, null);
          create();
        } else if (!x || passing(x.status)) retry(x);
        else refused(x);
      });
    }

    function patch() {
      var end = Math.min(offset + chunk, file.size);
      var start = offset;
      var x = send('PATCH', url, { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(start) }, file.slice(start, end), function (x) {
        if (!x) return retry(null);
        var at = Number(x.getResponseHeader('upload-offset'));
        if ((x.status === 204 || x.status === 201) && at === file.size) return finish(x.status, x.responseText, x.getResponseHeader('content-type'));
        if (x.status === 204 && at > start) {
          offset = at;
          failures = 0;
          events.progress(offset);
          return patch();
        }
        // 409: the server holds another offset (an answer was lost): go on from its count.
        if (x.status === 409 && x.getResponseHeader('upload-offset') !== null && at < file.size) {
          offset = at;
          return failures++ < BACKOFF.length ? patch() : refused(x);
        }
        if (x.status === 404 || x.status === 410) {
          url = null;
          remember(key, null);
          return failures++ < BACKOFF.length ? create() : refused(x);
        }
        if (passing(x.status)) return retry(x);
        refused(x);
      });
      x.upload.addEventListener('progress', function (ev) { if (!over) events.progress(start + ev.loaded); });
    }

    if (url) locate();
    else create();

    return {
      abort: function () {
        if (over) return;
        over = true;
        clearTimeout(timer);
        if (xhr) xhr.abort();
        // A cancelled upload is abandoned on the server too (tus termination).
        if (url) D.dav('DELETE', url, { 'Tus-Resumable': TUS });
        remember(key, null);
        events.done(-1, '', '');
      },
    };
  };
})();
