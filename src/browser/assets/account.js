// The account page: app passwords and share links of the signed-in user, through the JSON
// endpoints under <prefix>/.dav/. A new password or link is shown once, right after it is made.
(function () {
  'use strict';
  var body = document.body;
  var api = body.getAttribute('data-api');
  var csrf = body.getAttribute('data-csrf');
  var messages = document.getElementById('messages');

  function say(text, kind) {
    var p = document.createElement('div');
    p.className = 'toast ' + (kind || '');
    var span = document.createElement('span');
    span.className = 'toast-text';
    span.textContent = text;
    p.appendChild(span);
    messages.textContent = '';
    messages.appendChild(p);
  }

  function call(method, path, data) {
    var headers = { Accept: 'application/json' };
    if (csrf) headers['X-CSRF-Token'] = csrf;
    if (data) headers['Content-Type'] = 'application/json';
    return fetch(api + path, { method: method, headers: headers, credentials: 'same-origin', body: data ? JSON.stringify(data) : undefined }).then(function (res) {
      if (res.status === 204) return null;
      return res.text().then(function (text) {
        if (!res.ok) throw new Error(text.trim() || 'the server answered ' + res.status);
        return JSON.parse(text);
      });
    });
  }

  function when(ms) {
    return ms === null || ms === undefined ? 'never' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }

  function cell(row, text) {
    var td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function revokeButton(row, label, run) {
    var td = document.createElement('td');
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn danger';
    b.textContent = 'Revoke';
    b.setAttribute('aria-label', 'Revoke ' + label);
    b.addEventListener('click', function () {
      if (!window.confirm('Revoke ' + label + '? It stops working at once.')) return;
      run().then(load, function (e) { say(e.message, 'error'); });
    });
    td.appendChild(b);
    row.appendChild(td);
  }

  function load() {
    call('GET', 'app-passwords').then(function (r) {
      var list = document.getElementById('ap-list');
      list.textContent = '';
      r.appPasswords.forEach(function (p) {
        var row = document.createElement('tr');
        cell(row, p.label);
        cell(row, p.scope || '/');
        cell(row, p.readOnly ? 'read-only' : 'read-write');
        cell(row, when(p.expires));
        cell(row, p.lastUsed ? when(p.lastUsed.at) + ' from ' + p.lastUsed.address : 'never');
        revokeButton(row, 'app password ' + p.label, function () { return call('DELETE', 'app-passwords/' + encodeURIComponent(p.label)); });
        list.appendChild(row);
      });
    }, function (e) { say(e.message, 'error'); });
    call('GET', 'shares').then(function (r) {
      var list = document.getElementById('sh-list');
      list.textContent = '';
      r.shares.forEach(function (s) {
        var row = document.createElement('tr');
        cell(row, s.path);
        cell(row, (s.mode === 'drop' ? 'file drop' : 'read-only ' + s.kind) + (s.hasPassword ? ', password' : ''));
        var a = document.createElement('a');
        a.href = s.url;
        a.textContent = location.origin + s.url;
        cell(row, '').appendChild(a);
        cell(row, when(s.expires));
        cell(row, s.downloads + (s.maxDownloads ? ' / ' + s.maxDownloads : ''));
        cell(row, s.uploads + (s.maxUploads ? ' / ' + s.maxUploads : ''));
        revokeButton(row, 'the link to ' + s.path, function () { return call('DELETE', 'shares/' + encodeURIComponent(s.id)); });
        list.appendChild(row);
      });
    }, function (e) { say(e.message, 'error'); });
  }

  function formData(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) return;
      if (el.type === 'checkbox') out[el.name] = el.checked;
      else if (el.value !== '') out[el.name] = el.value;
    });
    return out;
  }

  document.getElementById('ap-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var form = ev.target;
    call('POST', 'app-passwords', formData(form)).then(function (p) {
      var out = document.getElementById('ap-new');
      out.hidden = false;
      out.textContent = 'New app password "' + p.label + '" (shown only now, store it in the device): ';
      var code = document.createElement('code');
      code.id = 'ap-password';
      code.textContent = p.password;
      out.appendChild(code);
      form.reset();
      load();
    }, function (e) { say(e.message, 'error'); });
  });

  document.getElementById('sh-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var form = ev.target;
    call('POST', 'shares', formData(form)).then(function (s) {
      var out = document.getElementById('sh-new');
      out.hidden = false;
      out.textContent = 'New link to ' + s.path + ': ';
      var a = document.createElement('a');
      a.id = 'sh-url';
      a.href = s.url;
      a.textContent = location.origin + s.url;
      out.appendChild(a);
      form.reset();
      load();
    }, function (e) { say(e.message, 'error'); });
  });

  load();
}());
