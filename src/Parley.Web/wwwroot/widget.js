// The embeddable chat: <script src="https://chat.example.org/widget.js" async></script> on any page shows a chat
// bubble that opens the gateway's page in a frame. A site with its own signed-in user adds data-site, data-user,
// data-name, data-timestamp and data-signature, computed by its server (see the gateway's README).
// Everything is built with DOM calls and styled through element.style, so the host page's CSP needs no 'unsafe-inline'.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src || document.getElementById('parley-chat-bubble')) { return; }
  var origin = new URL(script.src).origin;
  var data = script.dataset;
  var label = (data.label || 'Chat with us').slice(0, 40);

  // The site's token goes to the frame by postMessage, when the chat page in it asks ('parley:ready'), and only to
  // the gateway's origin: never in an address, so it is in no history, log or shareable link.
  function siteToken() {
    if (!(data.site && data.user && data.timestamp && data.signature)) { return null; }
    return { site: data.site, user: data.user, name: data.name || '', ts: data.timestamp, sig: data.signature };
  }

  window.addEventListener('message', function (event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin || !event.data) { return; }
    if (event.data.type === 'parley:ready') {
      frame.contentWindow.postMessage({ type: 'parley:site-token', token: siteToken() }, origin);
    } else if (event.data.type === 'parley:unread') {
      showUnread(event.data.count, event.data.text);
    }
  });

  // Replies the visitor has not seen yet (the chat counts them while its frame is closed or not focused): on the
  // bubble, and in the host page's title the way the chat page shows them in its own.
  var hostTitle = null;
  // The words for the count come from the chat page, in the visitor's language (texts-*.json); text only, and short.
  function showUnread(count, words) {
    var n = Math.max(0, Math.min(99, Number(count) | 0));
    var unread = typeof words === 'string' && words.length <= 60 ? words : String(n);
    badge.textContent = String(n);
    badge.style.display = n ? '' : 'none';
    bubble.setAttribute('aria-label', n ? label + ' (' + unread + ')' : label);
    if (n && hostTitle === null) { hostTitle = document.title; }
    if (hostTitle !== null) { document.title = n ? '(' + n + ') ' + hostTitle : hostTitle; }
    if (!n) { hostTitle = null; }
  }

  var bubble = document.createElement('button');
  bubble.id = 'parley-chat-bubble';
  bubble.type = 'button';
  bubble.setAttribute('aria-expanded', 'false');
  bubble.setAttribute('aria-label', label);
  bubble.title = label;
  // A speech bubble drawn with SVG: an emoji would depend on the visitor's fonts.
  var SVG = 'http://www.w3.org/2000/svg';
  var icon = document.createElementNS(SVG, 'svg');
  icon.setAttribute('viewBox', '0 0 24 24');
  icon.setAttribute('width', '28');
  icon.setAttribute('height', '28');
  icon.setAttribute('aria-hidden', 'true');
  var path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', 'M4 4h16v11H9l-5 4z');
  path.setAttribute('fill', '#fff');
  icon.appendChild(path);
  var close = document.createElement('span');
  close.textContent = '×';
  close.hidden = true;
  var badge = document.createElement('span');
  Object.assign(badge.style, {
    position: 'absolute', top: '-.2rem', right: '-.2rem', minWidth: '1.3rem', height: '1.3rem', padding: '0 .3rem',
    borderRadius: '.65rem', background: '#b91c1c', color: '#fff', font: '600 .8rem/1.3rem system-ui, sans-serif', display: 'none',
  });
  bubble.append(icon, close, badge);
  Object.assign(bubble.style, {
    position: 'fixed', right: '1rem', bottom: '1rem', zIndex: '2147483647', width: '3.5rem', height: '3.5rem',
    borderRadius: '50%', border: '0', background: '#2563eb', color: '#fff', fontSize: '1.6rem', lineHeight: '1',
    cursor: 'pointer', boxShadow: '0 4px 14px rgba(0,0,0,.25)', padding: '0',
    display: 'flex', alignItems: 'center', justifyContent: 'center',
  });

  var frame = null;

  function place() {
    if (!frame) { return; }
    var small = window.innerWidth < 480;
    // Phones: the whole screen above the bubble; larger screens: a panel next to it.
    Object.assign(frame.style, small
      ? { left: '0', right: 'auto', top: '0', bottom: 'auto', width: '100%', height: 'calc(100% - 5rem)', borderRadius: '0' }
      : { left: 'auto', top: 'auto', right: '1rem', bottom: '5.5rem', width: 'min(24rem, calc(100vw - 2rem))', height: 'min(36rem, calc(100vh - 7rem))', borderRadius: '.75rem' });
  }

  function toggle() {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.id = 'parley-chat-frame';
      frame.title = label;
      // The page the visitor opens the chat from, for the owner: without query or fragment (they can carry tokens),
      // in the frame's fragment, which the browser never sends to a server.
      frame.src = origin + '/#page=' + encodeURIComponent(location.origin + location.pathname);
      frame.referrerPolicy = 'no-referrer';
      Object.assign(frame.style, {
        position: 'fixed', zIndex: '2147483646', boxSizing: 'border-box', border: '1px solid #d1d5db', background: '#fff',
        boxShadow: '0 8px 30px rgba(0,0,0,.25)', colorScheme: 'light',
      });
      place();
      document.body.appendChild(frame);
      window.addEventListener('resize', place);
    } else {
      frame.hidden = !frame.hidden;
    }
    var open = !frame.hidden;
    // Opening the chat puts the focus in it: the page there clears its count, and tells this page so.
    if (open) { frame.focus(); }
    bubble.setAttribute('aria-expanded', String(open));
    icon.style.display = open ? 'none' : '';
    close.hidden = !open;
  }

  bubble.addEventListener('click', toggle);
  function mount() { document.body.appendChild(bubble); }
  if (document.body) { mount(); } else { document.addEventListener('DOMContentLoaded', mount); }
})();
