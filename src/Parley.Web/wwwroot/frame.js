// The chat page inside the widget's frame on a host site: signing the site's user in. The token comes from the host
// page's widget.js by postMessage, never in an address, so no link can carry one. The gateway gave this copy of the
// page a frame ticket (<meta name="parley-frame">) only because the browser loaded it into a frame, and accepts a
// site's token only with that ticket (Api/FrameTickets.cs). Leaving an identity the visitor is already signed in as
// happens only when they say so. Loaded before app.js, whose api, $ and setStatus it calls once the page runs.
'use strict';

const SITE_TOKEN_WAIT_MS = 3000;
const siteFrame = (() => {
  const meta = document.querySelector('meta[name="parley-frame"]');
  const ticket = meta ? meta.content : '';
  return { ticket, origins: ticket ? (meta.dataset.origins || '').split(' ').filter(Boolean) : [], asked: false };
})();

function isSiteToken(token) {
  return !!token && typeof token === 'object' && ['site', 'user', 'name', 'ts', 'sig'].every((field) => typeof token[field] === 'string');
}

// The host page's token, or null: the page has none, or no widget answers (a plain frame without widget.js).
function askSiteToken() {
  return new Promise((resolve) => {
    let timer = null;
    const onMessage = (event) => {
      // Only the page this frame is in, and only while it is on an allowed origin (frame-ancestors said so at load).
      if (event.source !== window.parent || !siteFrame.origins.includes(event.origin)) { return; }
      if (!event.data || event.data.type !== 'parley:site-token') { return; }
      finish(isSiteToken(event.data.token) ? event.data.token : null);
    };
    const finish = (token) => {
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      resolve(token);
    };
    window.addEventListener('message', onMessage);
    timer = setTimeout(() => finish(null), SITE_TOKEN_WAIT_MS);
    // Tells the host page nothing it does not know (its frame has loaded), so it may go to whatever origin it is on.
    window.parent.postMessage({ type: 'parley:ready' }, '*');
  });
}

// Asks in the page whether to leave the current identity for the site's; a guest learns their conversation ends.
function askToSwitch(current, guest, next) {
  return new Promise((resolve) => {
    $('signin').hidden = true;
    $('chat').hidden = true;
    $('switch-question').textContent = texts.t('switch.question', { current, next });
    $('switch-guest').textContent = texts.t('switch.guest', { current });
    $('switch-guest').hidden = !guest;
    $('switch-yes').textContent = texts.t('switch.yes', { next });
    $('switch-no').textContent = texts.t('switch.no', { current });
    $('switch').hidden = false;
    const answer = (yes) => {
      $('switch').hidden = true;
      resolve(yes);
    };
    $('switch-yes').onclick = () => answer(true);
    $('switch-no').onclick = () => answer(false);
    $('switch-no').focus();
  });
}

function siteRefusal(error) {
  const reason = error.problem && typeof error.problem.title === 'string' ? error.problem.title : error.message;
  return texts.t('switch.refused', { reason });
}

// Once per loaded page, in the widget's frame: signs in with the host site's token. True when the session may have changed.
async function signInFromSite() {
  if (!siteFrame.ticket || siteFrame.asked || window.parent === window) { return false; }
  siteFrame.asked = true;
  const token = await askSiteToken();
  if (!token) { return false; }
  const post = (replace) => api('/api/embed', { method: 'POST', headers: { 'X-Parley-Frame': siteFrame.ticket }, body: { ...token, replace } });
  try {
    await post(false);
  } catch (error) {
    if (error.status !== 409) {
      setStatus(siteRefusal(error));
      return false;
    }

    const problem = error.problem || {};
    if (!await askToSwitch(String(problem.signedInAs || 'Visitor'), problem.guest === true, token.name || token.user)) { return false; }
    try { await post(true); } catch (again) { setStatus(siteRefusal(again)); }
  }
  return true;
}
