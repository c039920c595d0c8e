// The Connect page: copy buttons. The clipboard API needs a secure context (HTTPS or localhost);
// elsewhere the text is selected and copied the old way.
(function () {
  'use strict';
  var toasts = document.getElementById('toasts');
  function say(text) {
    if (!toasts) return;
    var t = document.createElement('div');
    t.className = 'toast ok';
    t.setAttribute('role', 'status');
    t.textContent = text;
    toasts.replaceChildren(t);
    setTimeout(function () { t.remove(); }, 3000);
  }
  function fallback(pre) {
    var range = document.createRange();
    range.selectNodeContents(pre);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    return ok;
  }
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest ? ev.target.closest('button[data-copy]') : null;
    if (!b) return;
    var pre = document.getElementById(b.dataset.copy);
    var text = pre.textContent;
    var done = function () {
      b.textContent = 'Copied';
      say('Copied to the clipboard.');
      setTimeout(function () { b.textContent = 'Copy'; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { if (fallback(pre)) done(); });
    } else if (fallback(pre)) done();
    else say('Select the text and copy it with Ctrl+C.');
  });
})();
