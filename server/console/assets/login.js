// The sign-in page: sends the key pair once and reloads into the console,
// which the server then serves to the session's cookie. The secret is kept
// nowhere in the browser.
const form = document.getElementById('login');
const error = document.getElementById('error');

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const secret = form.elements.secretAccessKey;
  const body = JSON.stringify({
    accessKeyId: form.elements.accessKeyId.value.trim(),
    secretAccessKey: secret.value,
  });
  secret.value = '';
  try {
    const resp = await fetch('login', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body,
      credentials: 'same-origin',
    });
    if (resp.ok) {
      location.reload();
      return;
    }
    const out = await resp.json().catch(() => ({}));
    error.textContent = out.message || `sign-in failed: HTTP ${resp.status}`;
  } catch (e) {
    error.textContent = `sign-in failed: ${e.message}`;
  }
  error.hidden = false;
});
