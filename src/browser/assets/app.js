// The file page's main script: the folder's members as a model (the page's JSON data block) that
// is sorted, filtered, paged and drawn here without reloading; selection and batch actions; the
// dialogs, the folder picker, toasts; new folder, rename, delete, move and copy through the
// server's own WebDAV methods. upload.js and viewer.js add uploads, the viewer and the editor.
// Names only ever reach the page through textContent and attribute properties.
(function () {
  'use strict';

  var body = document.body;
  var D = (window.DavPage = window.DavPage || {});
  var $ = function (id) { return document.getElementById(id); };
  D.$ = $;
  var base = body.dataset.base; // encoded href of this folder, with a trailing slash
  var root = body.dataset.root; // encoded href of the user's root (honours --prefix)
  var readOnly = body.dataset.access !== 'read-write';
  var csrf = body.dataset.csrf || '';
  D.base = base;
  D.root = root;
  D.readOnly = readOnly;
  D.user = body.dataset.user || '';

  // ---------------------------------------------------------------- helpers

  // Encodes one path segment the way the server writes hrefs (RFC 3986 pchar kept readable).
  var enc = (D.enc = function (name) {
    return encodeURIComponent(name).replace(/%(24|26|2B|2C|3B|3D|3A|40)/g, function (m) { return decodeURIComponent(m); });
  });
  /** Encoded href of a member of this folder. */
  var memberHref = (D.memberHref = function (name, isDir) { return base + enc(name) + (isDir ? '/' : ''); });

  var humanSize = (D.humanSize = function (n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i === 0 ? n + ' B' : n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i];
  });

  var fmt = null;
  try { fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }); } catch (e) { fmt = null; }
  function formatTime(t) {
    var d = new Date(t.getAttribute('datetime'));
    if (fmt && !isNaN(d.getTime())) {
      t.textContent = fmt.format(d);
      t.title = d.toISOString();
    }
  }
  function localTimes(scope) { (scope || document).querySelectorAll('time[datetime]').forEach(formatTime); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  D.el = el;
  var SVG = 'http://www.w3.org/2000/svg';
  var icon = (D.icon = function (id, cls) {
    var s = document.createElementNS(SVG, 'svg');
    s.setAttribute('class', cls || 'icon');
    s.setAttribute('aria-hidden', 'true');
    var u = document.createElementNS(SVG, 'use');
    u.setAttribute('href', '#i-' + id);
    s.appendChild(u);
    return s;
  });

  /** Readable message for a failed request (status, response text, content type). */
  var describe = (D.describe = function (action, name, status, text, type) {
    var what = '"' + name + '"';
    var plain = text && /^text\/plain/.test(type || '') ? text.trim() : '';
    var msg;
    switch (status) {
      case 0: msg = 'the connection to the server was lost'; break;
      case 401: msg = 'you are not signed in any more (sign in again, then retry)'; break;
      case 403:
        msg = plain === 'Reserved name' ? 'that name is reserved by the server'
          : plain === 'Read-only access' ? 'you have read-only access, so you can browse and download but not change files'
          : /CSRF/.test(plain) ? 'the page is out of date; reload it and try again'
          : 'you are not allowed to do that here';
        break;
      case 404: msg = what + ' no longer exists (it may have been moved or deleted)'; break;
      case 405: msg = action === 'create folder' ? 'something named ' + what + ' already exists' : 'the server does not allow that here'; break;
      case 409: msg = 'the target folder does not exist, or ' + what + ' is in the way'; break;
      case 412: msg = 'something with that name already exists there'; break;
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
  });

  // ---------------------------------------------------------------- toasts

  /** A message near the bottom of the viewport, wherever the page is scrolled; errors stay longer. */
  var notify = (D.notify = function (text, kind) {
    var box = $('toasts');
    if (!box) return;
    var t = el('div', 'toast ' + (kind || 'info'));
    t.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    t.appendChild(el('span', 'toast-text', text));
    var close = el('button', 'close', '\u00d7');
    close.type = 'button';
    close.setAttribute('aria-label', 'Dismiss message');
    t.appendChild(close);
    var timer = null;
    function arm() { timer = setTimeout(function () { t.remove(); }, kind === 'error' ? 15000 : 5000); }
    close.addEventListener('click', function () { t.remove(); });
    t.addEventListener('mouseenter', function () { clearTimeout(timer); });
    t.addEventListener('mouseleave', arm);
    t.addEventListener('focusin', function () { clearTimeout(timer); });
    box.appendChild(t);
    while (box.children.length > 4) box.firstElementChild.remove();
    arm();
    return t;
  });

  // ---------------------------------------------------------------- dialog

  /**
   * Asks through the page's dialog; resolves with the input's value (or true), or null on cancel.
   * opts: title, text, label, value, ok, danger, validate(value) -> message or '' (the dialog stays
   * open with the message while the input is invalid), selectStem.
   */
  var ask = (D.ask = function (opts) {
    var dlg = $('dialog');
    var input = $('dialog-input');
    var err = $('dialog-error');
    $('dialog-title').textContent = opts.title;
    $('dialog-text').textContent = opts.text || '';
    $('dialog-ok').textContent = opts.ok || 'OK';
    $('dialog-ok').className = 'btn ' + (opts.danger ? 'danger' : 'primary');
    var hasInput = opts.value !== undefined;
    $('dialog-field').hidden = !hasInput;
    $('dialog-label').textContent = opts.label || 'Name';
    input.value = opts.value || '';
    input.removeAttribute('aria-invalid');
    err.textContent = '';
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
        if (!hasInput) return done(true);
        var v = input.value.trim();
        var problem = v === '' ? 'Type a name.' : opts.validate ? opts.validate(v) : '';
        if (problem) {
          err.textContent = problem;
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
        done(v);
      }
      function onCancel(ev) {
        if (ev) ev.preventDefault();
        done(null);
      }
      $('dialog-form').addEventListener('submit', onSubmit);
      $('dialog-cancel').addEventListener('click', onCancel);
      dlg.addEventListener('cancel', onCancel);
      dlg.showModal();
      if (hasInput) {
        input.focus();
        var dot = opts.selectStem ? input.value.lastIndexOf('.') : -1;
        input.setSelectionRange(0, dot > 0 ? dot : input.value.length);
      } else {
        // A destructive question never starts on its red button: Enter twice must not delete.
        (opts.danger ? $('dialog-cancel') : $('dialog-ok')).focus();
      }
    });
  });

  /** Checks a new member name typed by a person; '' when fine. */
  D.nameProblem = function (v, taken) {
    if (v.indexOf('/') !== -1 || v.indexOf('\\') !== -1) return 'A name cannot contain "/" or "\\".';
    if (v === '.' || v === '..') return '"' + v + '" cannot be used as a name.';
    if (v === '.dav' || v === '.davmeta' || /^\.~davtmp-/.test(v)) return 'That name is reserved by the server.';
    if (taken && taken(v)) return 'Something named "' + v + '" is already here.';
    return '';
  };

  // ---------------------------------------------------------------- requests

  /** Headers every request of the page carries: the session's CSRF token, and a mark that it is the page. */
  var pageHeaders = (D.pageHeaders = function (h) {
    h = h || {};
    h['X-Dav-Page'] = '1';
    if (csrf) h['X-CSRF-Token'] = csrf;
    return h;
  });

  /** One WebDAV request; resolves with { status, text, type, headers } (never rejects). */
  var dav = (D.dav = function (method, url, headers, bodyText, extra) {
    var init = { method: method, headers: pageHeaders(headers), credentials: 'same-origin', cache: 'no-store' };
    if (bodyText !== undefined) init.body = bodyText;
    if (extra && extra.keepalive) init.keepalive = true;
    return fetch(url, init).then(
      function (res) {
        return res.text().then(function (text) {
          return { status: res.status, text: text, type: res.headers.get('content-type') || '', headers: res.headers };
        });
      },
      function () { return { status: 0, text: '', type: '', headers: new Headers() }; }
    );
  });

  // ---------------------------------------------------------------- the model

  var dataEl = $('listing-data');
  var data = dataEl ? JSON.parse(dataEl.textContent) : null;
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  var params = new URLSearchParams(location.search);
  var state = {
    entries: data ? data.entries : [],
    sort: data ? data.sort : 'name',
    order: data ? data.order : 'asc',
    page: data ? data.page : 1,
    pageSize: data ? data.pageSize : 200,
    filter: '',
    view: params.get('view') === 'grid' || (params.get('view') === null && safeGet('dav-view') === 'grid') ? 'grid' : 'list',
    results: null, // search results (entries with path/href/parent) while showing them
    resultsNote: '',
  };
  D.state = state;
  var selected = new Set();
  var anchor = -1; // index (in the visible list) of the last checkbox clicked, for shift-click ranges

  function safeGet(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }
  function safeSet(k, v) { try { localStorage.setItem(k, v); } catch (e) { /* private mode */ } }

  function compare(a, b) {
    if (a.dir !== b.dir) return a.dir ? -1 : 1;
    var byName = collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    var c = state.sort === 'size' ? a.size - b.size || byName : state.sort === 'mtime' ? a.mtime - b.mtime || byName : byName;
    return state.order === 'desc' ? -c : c;
  }
  function sortEntries() { state.entries.sort(compare); }

  function fold(s) { return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase(); }

  /** The entries the current filter lets through, in the current order (all pages). */
  var visible = (D.visible = function () {
    if (state.results) return state.results;
    if (!state.filter) return state.entries;
    var words = fold(state.filter).split(/\s+/).filter(Boolean);
    return state.entries.filter(function (e) {
      var n = fold(e.name);
      return words.every(function (w) { return n.indexOf(w) !== -1; });
    });
  });

  D.entry = function (name) {
    for (var i = 0; i < state.entries.length; i++) if (state.entries[i].name === name) return state.entries[i];
    return null;
  };
  D.names = function () {
    var m = new Map();
    state.entries.forEach(function (e) { m.set(e.name, e.dir); });
    return m;
  };

  // ---------------------------------------------------------------- drawing

  function sortQuery() { return state.sort === 'name' && state.order === 'asc' ? '' : '?sort=' + state.sort + '&order=' + state.order; }

  var entryHref = (D.entryHref = function (e) { return e.href || memberHref(e.name, e.dir); });

  function opsFor(e, h) {
    var frag = document.createDocumentFragment();
    var dl = el('a', 'op k-download');
    dl.href = e.dir ? h + '?download=zip' : h + '?download';
    if (!e.dir) dl.setAttribute('download', '');
    dl.title = e.dir ? 'Download as zip' : 'Download';
    dl.setAttribute('aria-label', (e.dir ? 'Download ' + e.name + ' as zip' : 'Download ' + e.name));
    frag.appendChild(dl);
    if (readOnly || e.lockedBy || e.path) return frag;
    var ops = e.editable ? ['edit', 'rename', 'delete'] : ['rename', 'delete'];
    ops.forEach(function (op) {
      var b = el('button', 'op ' + (op === 'delete' ? 'danger ' : '') + 'k-' + { edit: 'edit', rename: 'rename', delete: 'del' }[op]);
      b.type = 'button';
      b.dataset.op = op;
      var label = { edit: 'Edit', rename: 'Rename', delete: 'Delete' }[op];
      b.title = label;
      b.setAttribute('aria-label', label + ' ' + e.name);
      frag.appendChild(b);
    });
    return frag;
  }

  function visual(e, h, big) {
    if (e.thumb) {
      var img = el('img', 'thumb');
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      img.width = big ? 160 : 24;
      img.height = big ? 120 : 24;
      img.src = h + '?thumb=' + (big ? 256 : 64);
      img.addEventListener('error', function () {
        var s = el('span', (big ? 'icon big' : 'icon') + ' k-image');
        s.setAttribute('aria-hidden', 'true');
        img.replaceWith(s);
      });
      return img;
    }
    var span = el('span', (big ? 'icon big k-' : 'icon k-') + e.kind);
    span.setAttribute('aria-hidden', 'true');
    return span;
  }

  function timeEl(ms) {
    var t = el('time');
    var d = new Date(ms);
    t.setAttribute('datetime', d.toISOString());
    t.textContent = d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
    formatTime(t);
    return t;
  }

  function openLink(e, h) {
    var a = el('a', 'open');
    a.href = e.dir ? h + (e.path ? '' : sortQuery()) : h;
    return a;
  }

  function badge(e) {
    if (!e.lockedBy) return null;
    var b = el('span', 'badge locked');
    b.appendChild(icon('lock', 'icon small'));
    b.appendChild(document.createTextNode('Locked by ' + e.lockedBy));
    return b;
  }

  function whereLink(e) {
    if (!e.parent) return null;
    var a = el('a', 'where', 'in ' + (e.parent === base ? 'this folder' : decodeURIComponent(e.parent.slice(root.length - 1)).replace(/(.)\/$/, '$1')));
    a.href = e.parent;
    return a;
  }

  /** The selection checkbox of a member. */
  function pick(e) {
    var cb = el('input', 'pick');
    cb.type = 'checkbox';
    cb.checked = selected.has(e.name);
    cb.setAttribute('aria-label', 'Select ' + e.name);
    return cb;
  }

  /** One member as a table row: the same markup the server renders (src/browser/listing.ts `row`). */
  var rowFor = (D.rowFor = function (e) {
    var h = entryHref(e);
    var tr = el('tr', 'entry' + (e.dir ? ' dir' : '') + (e.lockedBy ? ' is-locked' : ''));
    tr.dataset.name = e.name;
    tr.dataset.kind = e.kind;
    if (e.path) tr.dataset.path = e.path;
    var sel = el('td', 'sel');
    if (!e.path) sel.appendChild(pick(e));
    tr.appendChild(sel);
    var name = el('td', 'name');
    var a = openLink(e, h);
    a.appendChild(visual(e, h, false));
    a.appendChild(el('span', 'label', e.name + (e.dir ? '/' : '')));
    name.appendChild(a);
    var b = badge(e);
    if (b) name.appendChild(b);
    var w = whereLink(e);
    if (w) name.appendChild(w);
    var meta = el('span', 'meta', (e.dir ? 'Folder' : humanSize(e.size)) + ' · ');
    meta.appendChild(timeEl(e.mtime));
    name.appendChild(meta);
    tr.appendChild(name);
    tr.appendChild(el('td', 'size', e.dir ? '' : humanSize(e.size)));
    var m = el('td', 'mtime');
    m.appendChild(timeEl(e.mtime));
    tr.appendChild(m);
    var ops = el('td', 'ops');
    ops.appendChild(opsFor(e, h));
    tr.appendChild(ops);
    return tr;
  });

  /** One member as a grid card. */
  function cardFor(e) {
    var h = entryHref(e);
    var li = el('li', 'card entry' + (e.dir ? ' dir' : '') + (e.lockedBy ? ' is-locked' : ''));
    li.dataset.name = e.name;
    li.dataset.kind = e.kind;
    if (!e.path) li.appendChild(pick(e));
    var a = openLink(e, h);
    var pic = el('span', 'pic');
    pic.appendChild(visual(e, h, true));
    a.appendChild(pic);
    a.appendChild(el('span', 'label', e.name));
    li.appendChild(a);
    var b = badge(e);
    if (b) li.appendChild(b);
    var meta = el('span', 'meta', (e.dir ? 'Folder' : humanSize(e.size)) + ' · ');
    meta.appendChild(timeEl(e.mtime));
    li.appendChild(meta);
    var ops = el('span', 'ops');
    ops.appendChild(opsFor(e, h));
    li.appendChild(ops);
    return li;
  }

  /** Where focus was among the rows (to put it back after a redraw), or null. */
  function focusSpot() {
    var a = document.activeElement;
    var holder = a && a.closest ? a.closest('.entry') : null;
    if (!holder) return null;
    var kind = a.classList.contains('pick') ? '.pick' : a.dataset && a.dataset.op ? '[data-op="' + a.dataset.op + '"]' : a.classList.contains('open') ? 'a.open' : 'a.op';
    var list = Array.prototype.slice.call(document.querySelectorAll('.entry'));
    return { name: holder.dataset.name, sel: kind, index: list.indexOf(holder) };
  }

  function restoreFocus(spot) {
    if (!spot) return;
    var rows = document.querySelectorAll(state.view === 'grid' ? '#grid .entry' : '#rows .entry');
    var target = null;
    rows.forEach(function (r) { if (r.dataset.name === spot.name) target = r; });
    if (!target && rows.length) target = rows[Math.min(spot.index, rows.length - 1)];
    var f = target ? target.querySelector(spot.sel) || target.querySelector('a.open') : null;
    (f || $('main')).focus();
  }

  var render = (D.render = function (keepFocus) {
    var spot = keepFocus === false ? null : focusSpot();
    var list = visible();
    var pages = Math.max(1, Math.ceil(list.length / state.pageSize));
    if (state.page > pages) state.page = pages;
    var from = (state.page - 1) * state.pageSize;
    var slice = list.slice(from, from + state.pageSize);
    var tbody = $('rows');
    var grid = $('grid');
    var table = $('files');
    if (state.view === 'grid') {
      var gfrag = document.createDocumentFragment();
      slice.forEach(function (e) { gfrag.appendChild(cardFor(e)); });
      grid.replaceChildren(gfrag);
      grid.hidden = false;
      table.hidden = true;
    } else {
      var frag = document.createDocumentFragment();
      var up = tbody.querySelector('tr.up');
      if (up && !state.results) frag.appendChild(up);
      slice.forEach(function (e) { frag.appendChild(rowFor(e)); });
      tbody.replaceChildren(frag);
      table.hidden = false;
      grid.hidden = true;
    }
    drawPager(pages, list.length);
    drawEmpty(list.length);
    drawSortMarks();
    updateSelection();
    restoreFocus(spot);
  });

  function drawPager(pages, count) {
    var nav = $('pager');
    if (!nav) return;
    nav.replaceChildren();
    nav.hidden = pages <= 1;
    if (pages <= 1) return;
    function btn(label, page, disabled) {
      var b = el('button', 'btn', label);
      b.type = 'button';
      b.disabled = disabled;
      b.addEventListener('click', function () {
        state.page = page;
        syncUrl();
        render(false);
        $('main').focus();
        window.scrollTo(0, 0);
      });
      return b;
    }
    nav.appendChild(btn('Previous', state.page - 1, state.page <= 1));
    nav.appendChild(el('span', '', 'Page ' + state.page + ' of ' + pages + ' (' + count + ' items)'));
    nav.appendChild(btn('Next', state.page + 1, state.page >= pages));
  }

  function drawEmpty(count) {
    var p = document.querySelector('#main > p.empty');
    if (!p) {
      p = el('p', 'empty');
      $('main').appendChild(p);
    }
    p.hidden = count > 0;
    if (count > 0) return;
    if (state.results) p.textContent = 'Nothing below this folder matches “' + state.filter + '”.';
    else if (state.filter) p.textContent = 'Nothing in this folder matches “' + state.filter + '”. Press Enter to search the subfolders too.';
    else {
      p.textContent = 'This folder is empty.';
      if (!readOnly) p.appendChild(el('span', 'drop-hint', ' Drop files here or use Upload.'));
    }
  }

  function drawSortMarks() {
    document.querySelectorAll('a[data-sort]').forEach(function (a) {
      var k = a.dataset.sort;
      var active = k === state.sort;
      var next = active && state.order === 'asc' ? 'desc' : 'asc';
      a.setAttribute('href', '?sort=' + k + '&order=' + next);
      var th = a.closest('th');
      var arrow = a.querySelector('.arrow');
      if (th) {
        if (active) th.setAttribute('aria-sort', state.order === 'asc' ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
        if (arrow) arrow.remove();
        if (active) {
          var s = el('span', 'arrow', state.order === 'asc' ? '▲' : '▼');
          s.setAttribute('aria-hidden', 'true');
          a.appendChild(s);
        }
      } else {
        var label = { name: 'Name', size: 'Size', mtime: 'Date' }[k];
        a.textContent = label + (active ? (state.order === 'asc' ? ' ▲' : ' ▼') : '');
        if (active) a.setAttribute('aria-current', 'true');
        else a.removeAttribute('aria-current');
      }
    });
    // Folder links carry the sort into subfolders (breadcrumbs and the parent link too).
    document.querySelectorAll('.crumbs a, tr.up a').forEach(function (a) {
      a.setAttribute('href', a.getAttribute('href').replace(/\?.*$/, '') + sortQuery());
    });
  }

  /** Keeps sort, order, page and view in the address bar (so reload and Back keep them). */
  function syncUrl() {
    var p = new URLSearchParams(location.search);
    p.delete('sort'); p.delete('order'); p.delete('page'); p.delete('view');
    if (state.sort !== 'name' || state.order !== 'asc') { p.set('sort', state.sort); p.set('order', state.order); }
    if (state.page > 1) p.set('page', String(state.page));
    if (state.view === 'grid') p.set('view', 'grid');
    var q = p.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : '') + location.hash);
  }

  // ---------------------------------------------------------------- selection

  function updateSelection() {
    // Names that disappeared (deleted, moved) leave the selection.
    if (selected.size) {
      var now = D.names();
      selected.forEach(function (n) { if (!now.has(n)) selected.delete(n); });
    }
    document.querySelectorAll('.entry .pick').forEach(function (cb) {
      var on = selected.has(cb.closest('.entry').dataset.name);
      cb.checked = on;
      cb.closest('.entry').classList.toggle('selected', on);
    });
    var bar = $('selection-bar');
    if (bar) {
      bar.hidden = selected.size === 0;
      $('selection-count').textContent = selected.size + (selected.size === 1 ? ' item selected' : ' items selected');
    }
    var all = $('select-all');
    if (all) {
      var vis = visible();
      var n = 0;
      vis.forEach(function (e) { if (selected.has(e.name)) n++; });
      all.checked = vis.length > 0 && n === vis.length;
      all.indeterminate = n > 0 && n < vis.length;
      all.disabled = !!state.results;
    }
  }
  D.selection = function () {
    return state.entries.filter(function (e) { return selected.has(e.name); });
  };
  D.clearSelection = function () {
    selected.clear();
    updateSelection();
  };

  document.addEventListener('click', function (ev) {
    var cb = ev.target.closest ? ev.target.closest('.entry .pick') : null;
    if (!cb) return;
    var name = cb.closest('.entry').dataset.name;
    var vis = visible();
    var idx = -1;
    for (var i = 0; i < vis.length; i++) if (vis[i].name === name) idx = i;
    if (ev.shiftKey && anchor !== -1 && idx !== -1) {
      var on = cb.checked;
      var lo = Math.min(anchor, idx), hi = Math.max(anchor, idx);
      for (var j = lo; j <= hi; j++) { if (on) selected.add(vis[j].name); else selected.delete(vis[j].name); }
    } else if (cb.checked) selected.add(name);
    else selected.delete(name);
    anchor = idx;
    updateSelection();
  });

  if ($('select-all')) {
    $('select-all').addEventListener('change', function (ev) {
      var on = ev.target.checked;
      visible().forEach(function (e) { if (on) selected.add(e.name); else selected.delete(e.name); });
      updateSelection();
    });
  }

  // ---------------------------------------------------------------- refresh

  /** Reads the folder again (JSON) and redraws; focus stays where it was, or on the nearest row. */
  var refresh = (D.refresh = function () {
    if (!data) return Promise.resolve();
    return fetch(base, { headers: pageHeaders({ Accept: 'application/json' }), credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        if (res.status === 404) notify('This folder no longer exists: it was moved or deleted. Go up to find it.', 'error');
        return res.ok ? res.json() : null;
      })
      .then(function (json) {
        if (!json) return;
        state.entries = json.entries;
        sortEntries();
        if (!state.results) render();
      })
      .catch(function () { /* the old listing stays */ });
  });

  // ---------------------------------------------------------------- sort, filter, views, search

  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a[data-sort]') : null;
    if (!a || !data || ev.ctrlKey || ev.metaKey) return;
    ev.preventDefault();
    var k = a.dataset.sort;
    state.order = k === state.sort && state.order === 'asc' ? 'desc' : 'asc';
    state.sort = k;
    state.page = 1;
    sortEntries();
    if (state.results) state.results.sort(compare);
    syncUrl();
    render(false);
    // Focus stays on the link that was used (it was redrawn in place).
    var again = document.querySelector((a.closest('th') ? 'th ' : '.sortbar ') + 'a[data-sort="' + k + '"]');
    if (again) again.focus();
  });

  var filter = $('filter');
  if (filter && data) {
    filter.addEventListener('input', function () {
      state.filter = filter.value;
      state.page = 1;
      if (state.results) closeResults();
      render(false);
    });
    filter.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape' && filter.value) {
        ev.preventDefault();
        filter.value = '';
        state.filter = '';
        if (state.results) closeResults();
        render(false);
      }
    });
    $('search-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var q = filter.value.trim();
      if (!q) return filter.focus();
      searchSubfolders(q);
    });
  }

  function closeResults() {
    state.results = null;
    var s = $('search-status');
    s.hidden = true;
    s.replaceChildren();
    body.classList.remove('searching');
  }

  /** Asks the server for matches below this folder (bounded there) and shows them in place of the listing. */
  function searchSubfolders(q) {
    var status = $('search-status');
    status.hidden = false;
    status.textContent = 'Searching subfolders for “' + q + '”…';
    fetch(base + '?q=' + encodeURIComponent(q), { headers: pageHeaders({ Accept: 'application/json' }), credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.json() : Promise.reject(res.status); })
      .then(function (json) {
        state.filter = q;
        state.results = json.results;
        state.results.sort(compare);
        state.page = 1;
        body.classList.add('searching');
        var n = json.count;
        var why = { results: 'stopped at the first ' + n + ' matches', scanned: 'stopped after ' + json.scanned + ' items', time: 'stopped after a few seconds' }[json.truncated];
        status.replaceChildren(el('span', '', (n === 0 ? 'No matches' : n === 1 ? '1 match' : n + ' matches') + ' for “' + q + '” in this folder and its subfolders' + (why ? ' (' + why + ')' : '') + '. '));
        var back = el('button', 'btn small', 'Back to the folder');
        back.type = 'button';
        back.addEventListener('click', function () {
          filter.value = '';
          state.filter = '';
          closeResults();
          render(false);
          filter.focus();
        });
        status.appendChild(back);
        render(false);
      })
      .catch(function (s) {
        status.textContent = 'The search failed' + (typeof s === 'number' ? ' (the server answered ' + s + ')' : '') + '.';
      });
  }

  function setView(v) {
    state.view = v;
    safeSet('dav-view', v);
    $('view-list').setAttribute('aria-pressed', String(v === 'list'));
    $('view-grid').setAttribute('aria-pressed', String(v === 'grid'));
    body.classList.toggle('grid-view', v === 'grid');
    syncUrl();
    render(false);
  }
  if ($('view-list') && data) {
    $('view-list').addEventListener('click', function () { setView('list'); });
    $('view-grid').addEventListener('click', function () { setView('grid'); });
  }

  // ---------------------------------------------------------------- folder picker

  /**
   * Lets a person choose a folder by browsing (never by typing a path). Resolves with the chosen
   * folder's encoded href (trailing slash), or null. `forbidden` are encoded hrefs of folders that
   * cannot be chosen or entered (the folders being moved: nothing moves into itself).
   */
  var pickFolder = (D.pickFolder = function (opts) {
    var dlg = $('picker');
    var list = $('picker-list');
    var crumbs = $('picker-crumbs');
    var err = $('picker-error');
    var forbidden = opts.forbidden || [];
    var current = opts.start || base;
    $('picker-title').textContent = opts.title;
    $('picker-ok').textContent = opts.ok || 'Choose this folder';
    function isForbidden(h) {
      return forbidden.some(function (f) { return h === f || h.indexOf(f) === 0; });
    }
    function load(h, focusFirst) {
      current = h;
      err.textContent = '';
      list.replaceChildren(el('li', 'muted', 'Loading…'));
      var segs = h.slice(root.length).split('/').filter(Boolean);
      crumbs.replaceChildren();
      var acc = root;
      [{ label: 'Home', href: root }].concat(segs.map(function (s) { acc += s + '/'; return { label: decodeURIComponent(s), href: acc }; })).forEach(function (c, i, all) {
        var li = el('li');
        var b = el('button', 'linkish', c.label);
        b.type = 'button';
        if (i === all.length - 1) b.setAttribute('aria-current', 'location');
        b.addEventListener('click', function () { load(c.href, true); });
        li.appendChild(b);
        crumbs.appendChild(li);
      });
      $('picker-ok').disabled = isForbidden(h);
      if (isForbidden(h)) err.textContent = 'A folder cannot be moved into itself.';
      fetch(h, { headers: pageHeaders({ Accept: 'application/json' }), credentials: 'same-origin', cache: 'no-store' })
        .then(function (res) { return res.ok ? res.json() : Promise.reject(res.status); })
        .then(function (json) {
          if (current !== h) return;
          var dirs = json.entries.filter(function (e) { return e.dir; });
          list.replaceChildren();
          if (!dirs.length) list.appendChild(el('li', 'muted', 'No folders in here.'));
          dirs.forEach(function (e) {
            var sub = h + enc(e.name) + '/';
            var li = el('li');
            var b = el('button', 'picker-item');
            b.type = 'button';
            b.appendChild(icon('dir'));
            b.appendChild(el('span', '', e.name));
            if (isForbidden(sub)) {
              b.disabled = true;
              b.title = 'Being moved: cannot be a destination';
            }
            b.addEventListener('click', function () { load(sub, true); });
            li.appendChild(b);
            list.appendChild(li);
          });
          if (focusFirst) {
            var first = list.querySelector('button:not([disabled])');
            (first || $('picker-ok')).focus();
          }
        })
        .catch(function (s) {
          list.replaceChildren();
          err.textContent = 'Could not open this folder' + (typeof s === 'number' ? ' (the server answered ' + s + ')' : '') + '.';
        });
    }
    return new Promise(function (resolve) {
      function done(v) {
        $('picker-form').removeEventListener('submit', onOk);
        $('picker-cancel').removeEventListener('click', onCancel);
        dlg.removeEventListener('cancel', onCancel);
        if ($('picker-new')) $('picker-new').removeEventListener('click', onNew);
        dlg.close();
        resolve(v);
      }
      function onOk(ev) {
        ev.preventDefault();
        if (!isForbidden(current)) done(current);
      }
      function onCancel(ev) {
        if (ev) ev.preventDefault();
        done(null);
      }
      function onNew() {
        var input = el('input');
        input.type = 'text';
        input.id = 'picker-new-name';
        input.setAttribute('aria-label', 'Name of the new folder');
        input.placeholder = 'New folder name, then Enter';
        var li = el('li', 'picker-new-row');
        li.appendChild(input);
        list.insertBefore(li, list.firstChild);
        input.focus();
        input.addEventListener('keydown', function (ev) {
          if (ev.key === 'Escape') { ev.preventDefault(); ev.stopPropagation(); li.remove(); $('picker-new').focus(); return; }
          if (ev.key !== 'Enter') return;
          ev.preventDefault();
          var v = input.value.trim();
          var problem = v ? D.nameProblem(v) : 'Type a name.';
          if (problem) { err.textContent = problem; return; }
          dav('MKCOL', current + enc(v) + '/').then(function (r) {
            if (r.status === 201) load(current + enc(v) + '/', true);
            else err.textContent = describe('create folder', v, r.status, r.text, r.type);
          });
        });
      }
      $('picker-form').addEventListener('submit', onOk);
      $('picker-cancel').addEventListener('click', onCancel);
      dlg.addEventListener('cancel', onCancel);
      if ($('picker-new')) $('picker-new').addEventListener('click', onNew);
      dlg.showModal();
      load(current, true);
    });
  });

  // ---------------------------------------------------------------- actions

  function existsHere(v) { return D.names().has(v); }

  function newFolder() {
    ask({ title: 'New folder', text: 'Create a folder in this folder.', label: 'Folder name', value: '', ok: 'Create', validate: function (v) { return D.nameProblem(v, existsHere); } }).then(function (name) {
      if (name === null) return;
      dav('MKCOL', memberHref(name, true)).then(function (r) {
        if (r.status === 201) {
          notify('Created the folder "' + name + '".', 'ok');
          refresh().then(function () { focusEntry(name); });
        } else {
          notify(describe('create folder', name, r.status, r.text, r.type), 'error');
        }
      });
    });
  }

  function focusEntry(name) {
    document.querySelectorAll('.entry').forEach(function (r) {
      if (r.dataset.name === name) {
        var a = r.querySelector('a.open');
        if (a) a.focus();
      }
    });
  }
  D.focusEntry = focusEntry;

  function rename(name, isDir) {
    ask({
      title: 'Rename',
      text: 'New name for "' + name + '" (use Move to… in the selection bar to move it to another folder).',
      label: 'New name',
      value: name,
      ok: 'Rename',
      selectStem: !isDir,
      validate: function (v) { return v === name ? '' : D.nameProblem(v, existsHere); },
    }).then(function (target) {
      if (target === null || target === name) return;
      dav('MOVE', memberHref(name, isDir), { Destination: location.origin + memberHref(target, isDir), Overwrite: 'F' }).then(function (r) {
        if (r.status === 201 || r.status === 204) {
          notify('Renamed "' + name + '" to "' + target + '".', 'ok');
          refresh().then(function () { focusEntry(target); });
        } else {
          notify(describe('rename', name, r.status, r.text, r.type), 'error');
        }
      });
    });
  }

  /** Deletes members one by one; resolves with the failures as sentences. */
  function deleteAll(entries) {
    var failures = [];
    var i = 0;
    function nextOne() {
      if (i >= entries.length) return Promise.resolve(failures);
      var e = entries[i++];
      return dav('DELETE', memberHref(e.name, e.dir)).then(function (r) {
        if (r.status === 207) failures.push('Could not delete everything in "' + e.name + '": ' + (/423/.test(r.text) ? 'some items are locked by a WebDAV client.' : 'some items could not be removed.'));
        else if (r.status !== 204 && r.status !== 200) failures.push(describe('delete', e.name, r.status, r.text, r.type));
        return nextOne();
      });
    }
    return nextOne();
  }

  function confirmDelete(entries) {
    var one = entries.length === 1 ? entries[0] : null;
    var text = one
      ? one.dir ? 'Delete the folder "' + one.name + '" and everything in it? This cannot be undone.' : 'Delete "' + one.name + '"? This cannot be undone.'
      : 'Delete these ' + entries.length + ' items (folders with everything in them)? This cannot be undone. ' +
        entries.slice(0, 8).map(function (e) { return e.name + (e.dir ? '/' : ''); }).join(', ') + (entries.length > 8 ? ', …' : '');
    var title = one ? (one.dir ? 'Delete folder?' : 'Delete file?') : 'Delete ' + entries.length + ' items?';
    return ask({ title: title, text: text, ok: 'Delete', danger: true });
  }

  function remove(entries) {
    var locked = entries.filter(function (e) { return e.lockedBy; });
    if (locked.length) {
      notify('Cannot delete "' + locked[0].name + '": it is locked by ' + locked[0].lockedBy + '.', 'error');
      return;
    }
    confirmDelete(entries).then(function (yes) {
      if (!yes) return;
      deleteAll(entries).then(function (failures) {
        // The listing first, then the message about it.
        return refresh().then(function () {
          failures.forEach(function (f) { notify(f, 'error'); });
          var ok = entries.length - failures.length;
          if (ok > 0) notify(entries.length === 1 ? 'Deleted "' + entries[0].name + '".' : 'Deleted ' + ok + ' of ' + entries.length + ' items.', 'ok');
        });
      });
    });
  }

  /** MOVE or COPY of members to a folder chosen in the picker. */
  function transfer(method, entries) {
    var forbidden = method === 'MOVE' ? entries.filter(function (e) { return e.dir; }).map(function (e) { return memberHref(e.name, true); }) : [];
    var verb = method === 'MOVE' ? 'Move' : 'Copy';
    pickFolder({ title: verb + ' ' + (entries.length === 1 ? '"' + entries[0].name + '"' : entries.length + ' items') + ' to…', ok: verb + ' here', forbidden: forbidden }).then(function (dest) {
      if (!dest) return;
      if (dest === base && method === 'MOVE') return notify('Those items are already in this folder.', 'info');
      var failures = [];
      var i = 0;
      function nextOne() {
        if (i >= entries.length) return Promise.resolve();
        var e = entries[i++];
        var target = dest + enc(e.name) + (e.dir ? '/' : '');
        if (dest === base) target = dest + enc(copyName(e.name)) + (e.dir ? '/' : '');
        return dav(method, memberHref(e.name, e.dir), { Destination: location.origin + target, Overwrite: 'F', Depth: 'infinity' }).then(function (r) {
          if (r.status === 403 && method === 'MOVE' && e.dir && dest.indexOf(memberHref(e.name, true)) === 0) failures.push('Could not move "' + e.name + '": a folder cannot be moved into itself.');
          else if (r.status === 412) failures.push('Could not ' + verb.toLowerCase() + ' "' + e.name + '": something with that name is already in the destination; nothing was replaced.');
          else if (r.status !== 201 && r.status !== 204) failures.push(describe(verb.toLowerCase(), e.name, r.status, r.text, r.type));
          return nextOne();
        });
      }
      nextOne().then(function () {
        D.clearSelection();
        return refresh();
      }).then(function () {
        failures.forEach(function (f) { notify(f, 'error'); });
        var ok = entries.length - failures.length;
        var where = dest === root ? 'Home' : decodeURIComponent(dest.slice(root.length, -1)).split('/').pop();
        if (ok) notify((method === 'MOVE' ? 'Moved ' : 'Copied ') + (entries.length === 1 ? '"' + entries[0].name + '"' : ok + ' of ' + entries.length + ' items') + ' to "' + where + '".', 'ok');
      });
    });
  }

  /** "a.txt" -> "a (copy).txt", for a copy into the same folder. */
  function copyName(name) {
    var names = D.names();
    var dot = name.lastIndexOf('.');
    var stem = dot > 0 ? name.slice(0, dot) : name;
    var ext = dot > 0 ? name.slice(dot) : '';
    for (var n = 1; ; n++) {
      var c = stem + (n === 1 ? ' (copy)' : ' (copy ' + n + ')') + ext;
      if (!names.has(c)) return c;
    }
  }

  /** Downloads the selection: one file as itself, anything else as one zip. */
  function downloadSelection(entries) {
    var url;
    if (entries.length === 1 && !entries[0].dir) url = memberHref(entries[0].name, false) + '?download';
    else if (entries.length === state.entries.length) url = base + '?download=zip';
    else url = base + '?download=zip' + entries.map(function (e) { return '&f=' + enc(e.name); }).join('');
    if (url.length > 7000) return notify('Too many items are selected to name them in one download; download the whole folder, or fewer items.', 'error');
    var a = el('a');
    a.href = url;
    a.setAttribute('download', '');
    body.appendChild(a);
    a.click();
    a.remove();
  }

  function bind(id, fn) { if ($(id)) $(id).addEventListener('click', fn); }
  bind('new-folder', newFolder);
  bind('sel-delete', function () { remove(D.selection()); });
  bind('sel-move', function () { transfer('MOVE', D.selection()); });
  bind('sel-copy', function () { transfer('COPY', D.selection()); });
  bind('sel-download', function () { downloadSelection(D.selection()); });
  bind('sel-clear', function () { D.clearSelection(); });

  document.addEventListener('click', function (ev) {
    var btn = ev.target.closest ? ev.target.closest('button.op') : null;
    if (!btn) return;
    var holder = btn.closest('.entry');
    if (!holder) return;
    var e = D.entry(holder.dataset.name);
    if (!e) return;
    if (btn.dataset.op === 'rename') rename(e.name, e.dir);
    else if (btn.dataset.op === 'delete') remove([e]);
    else if (btn.dataset.op === 'edit' && D.edit) D.edit(e.name);
  });

  // A file's name opens the viewer (its link still downloads without JavaScript, or in a new tab).
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('.entry a.open') : null;
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    var holder = a.closest('.entry');
    if (holder.classList.contains('dir') || !D.openViewer) return;
    ev.preventDefault();
    D.openViewer(holder.dataset.path || holder.dataset.name);
  });

  // ---------------------------------------------------------------- start

  localTimes();
  if (data) {
    if (state.view === 'grid') setView('grid');
    else {
      if ($('view-list')) $('view-list').setAttribute('aria-pressed', 'true');
      // The server's rows stay; its page links become buttons that page without reloading.
      drawPager(Math.max(1, Math.ceil(state.entries.length / state.pageSize)), state.entries.length);
    }
  }
  body.classList.add('js');
  if (window.performance && performance.mark) performance.mark('dav-ready');
})();
