// Sends the buyer's browser on with the hashed form (e.g. to the bank's NestPay 3D gate).
// A separate file because the CSP allows no inline script; without JavaScript the visible
// button does the same.
document.addEventListener('DOMContentLoaded', () => {
  const form = document.querySelector('form[data-autosubmit]');
  if (form && !form.dataset.submitting) {
    form.dataset.submitting = '1';
    form.submit();
  }
});
