// Sign-in buttons for the configured OAuth / OpenID Connect providers (the guest form is app.js's), and the
// notice when a provider sign-in came back without success. Names only ever reach the page through textContent.
'use strict';

(() => {
  const outcome = new URLSearchParams(location.search).get('signin');
  if (outcome) {
    texts.load().then(() => {
      document.getElementById('status').textContent = texts.t(outcome === 'unavailable' ? 'signin.unavailable' : 'signin.failed');
    }, () => {});
    history.replaceState(null, '', location.pathname);
  }

  texts.load()
    .then(() => fetch('/api/auth/providers', { credentials: 'same-origin', headers: { Accept: 'application/json' } }))
    .then((response) => (response.ok ? response.json() : []))
    .then((providers) => {
      const box = document.getElementById('providers');
      for (const provider of providers) {
        const link = document.createElement('a');
        link.href = '/auth/signin/' + encodeURIComponent(provider.name);
        link.className = 'provider';
        link.dataset.provider = provider.name;
        link.textContent = texts.t('signin.provider', { provider: provider.displayName });
        box.append(link);
      }
    })
    .catch(() => {});

  // A page restored from the back/forward cache shows whatever it showed when it was left, possibly the chat of a
  // visitor who has signed out since: load it anew, so it asks the server who is signed in.
  window.addEventListener('pageshow', (event) => { if (event.persisted) { location.reload(); } });
})();
