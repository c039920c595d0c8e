// The viewer (images, PDF, text, markdown, code, audio, video; next/previous within the folder,
// Escape closes, a download button; for Office documents "Open in Word/Excel/PowerPoint" and
// "Open in LibreOffice") and the text editor (LOCK while editing, PUT with the lock token,
// UNLOCK; a conflict says who holds the lock).
(function () {
  'use strict';

  var D = window.DavPage;
  if (!D || !D.$('viewer')) return;
  var $ = D.$;
  var el = D.el;
  var TEXT_MAX = 1024 * 1024;
  var TEXT_KINDS = { text: 1, code: 1, markdown: 1 };
  var OFFICE = {
    word: { label: 'Word', scheme: 'ms-word' },
    excel: { label: 'Excel', scheme: 'ms-excel' },
    powerpoint: { label: 'PowerPoint', scheme: 'ms-powerpoint' },
  };
  var OFFICE_KINDS = { word: 1, excel: 1, powerpoint: 1, office: 1 };

  // ---------------------------------------------------------------- markdown (to DOM, never HTML)

  function safeUrl(u) {
    if (/^(https?:|mailto:)/i.test(u)) return u;
    if (/^[a-z][a-z0-9+.-]*:/i.test(u)) return null; // javascript:, data:, ...
    return u;
  }

  function inline(text, parent) {
    var re = /(`[^`]+`)|(\*\*[^*]+\*\*)|(__[^_]+__)|(\*[^*\s][^*]*\*)|(_[^_\s][^_]*_)|(!?\[[^\]]*\]\([^)\s]+\))/;
    while (text) {
      var m = re.exec(text);
      if (!m) { parent.appendChild(document.createTextNode(text)); break; }
      if (m.index) parent.appendChild(document.createTextNode(text.slice(0, m.index)));
      var t = m[0];
      if (m[1]) parent.appendChild(el('code', '', t.slice(1, -1)));
      else if (m[2] || m[3]) inline(t.slice(2, -2), parent.appendChild(el('strong')));
      else if (m[4] || m[5]) inline(t.slice(1, -1), parent.appendChild(el('em')));
      else {
        var lm = /^!?\[([^\]]*)\]\(([^)\s]+)\)$/.exec(t);
        var url = safeUrl(lm[2]);
        if (url) {
          var a = el('a', '', lm[1] || lm[2]);
          a.href = url;
          a.rel = 'noopener noreferrer';
          parent.appendChild(a);
        } else parent.appendChild(document.createTextNode(lm[1]));
      }
      text = text.slice(m.index + t.length);
    }
  }

  /** A small, safe subset of Markdown: headings, paragraphs, lists, quotes, code, rules, links. */
  function markdown(src) {
    var out = el('div', 'markdown');
    var lines = src.replace(/\r\n?/g, '\n').split('\n');
    var i = 0;
    while (i < lines.length) {
      var line = lines[i];
      var m;
      if (/^\s*$/.test(line)) { i++; continue; }
      if ((m = /^(```|~~~)/.exec(line))) {
        var code = [];
        for (i++; i < lines.length && lines[i].indexOf(m[1]) !== 0; i++) code.push(lines[i]);
        i++;
        var pre = el('pre');
        pre.appendChild(el('code', '', code.join('\n')));
        out.appendChild(pre);
        continue;
      }
      if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
        // Headings of the document sit below the viewer's own h2.
        var h = el('h' + Math.min(6, m[1].length + 2));
        inline(m[2], h);
        out.appendChild(h);
        i++;
        continue;
      }
      if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { out.appendChild(el('hr')); i++; continue; }
      if (/^\s*>/.test(line)) {
        var quote = [];
        for (; i < lines.length && /^\s*>/.test(lines[i]); i++) quote.push(lines[i].replace(/^\s*>\s?/, ''));
        var bq = el('blockquote');
        bq.appendChild(markdown(quote.join('\n')));
        out.appendChild(bq);
        continue;
      }
      if ((m = /^\s*([-*+]|\d+[.)])\s+/.exec(line))) {
        var ordered = /\d/.test(m[1]);
        var list = el(ordered ? 'ol' : 'ul');
        for (; i < lines.length && (m = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(lines[i])); i++) {
          var li = el('li');
          inline(m[2], li);
          list.appendChild(li);
        }
        out.appendChild(list);
        continue;
      }
      var para = [];
      for (; i < lines.length && !/^\s*$/.test(lines[i]) && !/^(#{1,6}\s|```|~~~|\s*>|\s*([-*+]|\d+[.)])\s)/.test(lines[i]); i++) para.push(lines[i].trim());
      var p = el('p');
      inline(para.join(' '), p);
      out.appendChild(p);
    }
    return out;
  }
  D.markdown = markdown;

  // ---------------------------------------------------------------- viewer

  var dlg = $('viewer');
  var content = $('viewer-content');
  var list = [];
  var index = -1;
  var opener = null;
  var pageTitle = document.title;

  function files() {
    return D.visible().filter(function (e) { return !e.dir; });
  }

  function absolute(h) { return location.origin + h; }

  function officeLinks(e, h) {
    var box = el('div', 'apps');
    var o = OFFICE[e.kind];
    if (o) {
      var a = el('a', 'btn primary', 'Open in ' + o.label);
      // Office's URI scheme: ofe = open for editing (it takes a lock through WebDAV like any client).
      a.href = o.scheme + ':ofe|u|' + absolute(h);
      box.appendChild(a);
    }
    var lo = el('a', 'btn' + (o ? '' : ' primary'), 'Open in LibreOffice');
    lo.href = 'vnd.libreoffice.command:ofv|u|' + absolute(h);
    box.appendChild(lo);
    return box;
  }

  function infoCard(e, h, note) {
    var card = el('div', 'info-card');
    card.appendChild(D.icon(e.kind, 'icon huge'));
    card.appendChild(el('p', 'info-name', e.name));
    var meta = el('p', 'muted', D.humanSize(e.size) + ' · modified ' + new Date(e.mtime).toLocaleString());
    card.appendChild(meta);
    if (e.lockedBy) card.appendChild(el('p', 'badge locked', 'Locked by ' + e.lockedBy));
    if (OFFICE_KINDS[e.kind]) {
      card.appendChild(el('p', '', 'Open it in your desktop application, which edits it in place on this server:'));
      card.appendChild(officeLinks(e, h));
    } else {
      card.appendChild(el('p', '', note || 'There is no preview for this type of file.'));
    }
    var dl = el('a', 'btn', 'Download');
    dl.href = h + '?download';
    dl.setAttribute('download', '');
    card.appendChild(dl);
    return card;
  }

  function showText(e, h, asMarkdown) {
    if (e.size > TEXT_MAX) {
      content.replaceChildren(infoCard(e, h, 'This file is too large to preview here (' + D.humanSize(e.size) + '); download it instead.'));
      return;
    }
    content.replaceChildren(el('p', 'muted', 'Loading…'));
    var want = index;
    fetch(h, { credentials: 'same-origin', cache: 'no-store', headers: D.pageHeaders({}) })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) {
        if (want !== index) return;
        if (asMarkdown) {
          content.replaceChildren(markdown(text));
        } else {
          var pre = el('pre', 'text-view');
          pre.tabIndex = 0;
          pre.setAttribute('aria-label', 'Contents of ' + e.name);
          pre.appendChild(el('code', '', text));
          content.replaceChildren(pre);
        }
      })
      .catch(function (s) {
        if (want === index) content.replaceChildren(el('p', 'field-error', 'Could not load "' + e.name + '"' + (typeof s === 'number' ? ' (the server answered ' + s + ')' : '') + '.'));
      });
  }

  function show(i) {
    index = (i + list.length) % list.length;
    var e = list[index];
    var h = D.entryHref(e);
    $('viewer-title').textContent = e.name;
    $('viewer-pos').textContent = list.length > 1 ? index + 1 + ' of ' + list.length : '';
    $('viewer-download').href = h + '?download';
    $('viewer-download').setAttribute('aria-label', 'Download ' + e.name);
    $('viewer-prev').hidden = $('viewer-next').hidden = list.length < 2;
    var edit = $('viewer-edit');
    if (edit) edit.hidden = !(e.editable && !e.lockedBy && !e.path);
    document.title = e.name + ' · ' + pageTitle;
    content.replaceChildren();
    var node;
    switch (e.kind) {
      case 'image':
        node = el('img', 'view-image');
        node.alt = e.name;
        node.src = h;
        break;
      case 'video':
      case 'audio':
        node = el(e.kind, e.kind === 'video' ? 'view-media' : 'view-audio');
        node.controls = true;
        node.preload = 'metadata';
        node.src = h;
        node.setAttribute('aria-label', e.name);
        break;
      case 'pdf':
        node = el('iframe', 'view-pdf');
        node.title = e.name;
        node.src = h;
        break;
      case 'markdown':
        return showText(e, h, true);
      case 'text':
      case 'code':
        return showText(e, h, false);
      default:
        node = infoCard(e, h);
    }
    content.appendChild(node);
  }

  D.openViewer = function (key) {
    list = files();
    var i = -1;
    for (var k = 0; k < list.length; k++) if ((list[k].path || list[k].name) === key) i = k;
    if (i === -1) return;
    opener = document.activeElement;
    pageTitle = document.title;
    show(i);
    dlg.showModal();
    $('viewer-close').focus();
  };

  function closeViewer() {
    content.replaceChildren(); // stops media
    document.title = pageTitle;
    if (dlg.open) dlg.close();
  }
  dlg.addEventListener('close', function () {
    content.replaceChildren();
    document.title = pageTitle;
    // Back to the row the viewer showed last (it may be another than the one that opened it).
    var e = list[index];
    if (e && D.focusEntry) D.focusEntry(e.name);
    if ((!document.activeElement || document.activeElement === document.body) && opener && opener.isConnected) opener.focus();
  });
  $('viewer-close').addEventListener('click', closeViewer);
  $('viewer-prev').addEventListener('click', function () { show(index - 1); });
  $('viewer-next').addEventListener('click', function () { show(index + 1); });
  dlg.addEventListener('keydown', function (ev) {
    var t = ev.target;
    if (t && (t.tagName === 'VIDEO' || t.tagName === 'AUDIO' || t.tagName === 'INPUT')) return;
    if (ev.key === 'ArrowLeft') { ev.preventDefault(); show(index - 1); }
    else if (ev.key === 'ArrowRight') { ev.preventDefault(); show(index + 1); }
  });
  // A click on the backdrop (outside the viewer's box) closes it too.
  dlg.addEventListener('click', function (ev) { if (ev.target === dlg) closeViewer(); });
  if ($('viewer-edit')) {
    $('viewer-edit').addEventListener('click', function () {
      var e = list[index];
      closeViewer();
      D.edit(e.name);
    });
  }

  // ---------------------------------------------------------------- editor

  var ed = $('editor');
  if (!ed || D.readOnly) return;
  var area = $('editor-text');
  var session = null; // { name, href, token, saved, timer }

  function lockBody() {
    var owner = (D.user ? D.user : 'someone') + ' (web page)';
    var x = owner.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
      '<D:locktype><D:write/></D:locktype><D:owner>' + x + '</D:owner></D:lockinfo>';
  }

  /** Who holds the lock on a URL, from its lockdiscovery (owner text), or ''. */
  function lockHolder(href) {
    var q = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>';
    return D.dav('PROPFIND', href, { Depth: '0', 'Content-Type': 'application/xml' }, q).then(function (r) {
      if (r.status !== 207) return '';
      var doc = new DOMParser().parseFromString(r.text, 'application/xml');
      var owner = doc.getElementsByTagNameNS('DAV:', 'owner')[0];
      return owner ? owner.textContent.trim().replace(/^mailto:/i, '') : '';
    });
  }

  function setEditorState(text) { $('editor-state').textContent = text; }

  function dirty() { return session && area.value !== session.saved; }

  /** Opens a file of this folder in the editor (isNew: it was just created by the LOCK). */
  D.edit = function (name, isNew) {
    var href = D.memberHref(name, false);
    D.dav('LOCK', href, { 'Content-Type': 'application/xml', Timeout: 'Second-600' }, lockBody()).then(function (r) {
      if (r.status === 423) {
        return lockHolder(href).then(function (who) {
          D.notify('Cannot edit "' + name + '": it is locked by ' + (who || 'another client') + '. Try again once they are done.', 'error');
        });
      }
      if (r.status !== 200 && r.status !== 201) return D.notify(D.describe('open', name, r.status, r.text, r.type), 'error');
      var token = (r.headers.get('lock-token') || '').replace(/^<|>$/g, '');
      session = { name: name, href: href, token: token, saved: '', timer: null };
      // Keeps the lock while the editor stays open (it would expire after 10 minutes).
      session.timer = setInterval(function () {
        D.dav('LOCK', href, { If: '(<' + token + '>)', Timeout: 'Second-600' });
      }, 240000);
      var load = isNew ? Promise.resolve({ ok: true, text: '' }) : fetch(href, { credentials: 'same-origin', cache: 'no-store', headers: D.pageHeaders({}) }).then(function (res) {
        return res.text().then(function (t) { return { ok: res.ok, status: res.status, text: t }; });
      });
      load.then(function (got) {
        if (!got.ok) {
          D.notify('Could not load "' + name + '" (the server answered ' + got.status + ').', 'error');
          return unlock();
        }
        session.saved = got.text;
        area.value = got.text;
        $('editor-title').textContent = 'Edit ' + name;
        $('editor-label').textContent = 'Contents of ' + name;
        setEditorState('Locked for you while you edit');
        ed.showModal();
        area.focus();
        area.setSelectionRange(0, 0);
        area.scrollTop = 0;
      });
    });
  };

  function save() {
    if (!session) return Promise.resolve(false);
    var s = session;
    var text = area.value;
    setEditorState('Saving…');
    return D.dav('PUT', s.href, { If: '(<' + s.token + '>)', 'Content-Type': 'text/plain; charset=utf-8' }, text).then(function (r) {
      if (r.status >= 200 && r.status < 300) {
        s.saved = text;
        setEditorState('Saved at ' + new Date().toLocaleTimeString());
        return true;
      }
      var msg = D.describe('save', s.name, r.status, r.text, r.type);
      setEditorState('Not saved');
      D.notify(msg, 'error');
      return false;
    });
  }

  function unlock(keepalive) {
    if (!session) return Promise.resolve();
    var s = session;
    session = null;
    clearInterval(s.timer);
    return D.dav('UNLOCK', s.href, { 'Lock-Token': '<' + s.token + '>' }, undefined, { keepalive: !!keepalive });
  }

  function closeEditor() {
    var go = dirty()
      ? D.ask({ title: 'Discard your changes?', text: 'The changes to "' + session.name + '" are not saved.', ok: 'Discard', danger: true })
      : Promise.resolve(true);
    return go.then(function (yes) {
      if (!yes) return area.focus();
      var name = session.name;
      ed.close();
      unlock().then(function () {
        D.refresh().then(function () { D.focusEntry(name); });
      });
    });
  }

  $('editor-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    save();
  });
  $('editor-close').addEventListener('click', closeEditor);
  ed.addEventListener('cancel', function (ev) {
    ev.preventDefault();
    closeEditor();
  });
  area.addEventListener('keydown', function (ev) {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 's') {
      ev.preventDefault();
      save();
    }
  });
  area.addEventListener('input', function () { setEditorState(dirty() ? 'Changed (not saved)' : 'Saved'); });
  window.addEventListener('beforeunload', function (ev) {
    if (!dirty()) return;
    ev.preventDefault();
    ev.returnValue = '';
  });
  window.addEventListener('pagehide', function () { unlock(true); });

  if ($('new-file')) {
    $('new-file').addEventListener('click', function () {
      D.ask({
        title: 'New text file',
        text: 'Create an empty text file here and open it in the editor.',
        label: 'File name',
        value: 'notes.txt',
        ok: 'Create',
        selectStem: true,
        validate: function (v) { return D.nameProblem(v, function (n) { return D.names().has(n); }); },
      }).then(function (name) {
        if (name !== null) D.edit(name, true);
      });
    });
  }
})();
