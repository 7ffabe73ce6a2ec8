// iyzico sandbox pages (views/sandbox/iyzico). No inline scripts: the CSP allows only files.
// The return page posts the checkout form token back to the merchant at once; its button stays
// for browsers without JavaScript.
for (const form of document.querySelectorAll('form[data-autosubmit]')) form.submit();

// "Use" buttons next to the test cards fill in the card number.
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-card-number]') : null;
  const input = document.getElementById('iyzico-card-number');
  if (!button || !input) return;
  input.value = button.getAttribute('data-card-number');
  input.focus();
});
