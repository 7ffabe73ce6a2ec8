// NestPay sandbox bank pages. No inline scripts (CSP); every page also works without JavaScript.
document.addEventListener('DOMContentLoaded', () => {
  // The post-back page returns the buyer to the merchant at once, as the real gate does.
  const autosubmit = document.querySelector('form[data-autosubmit]');
  if (autosubmit) autosubmit.submit();

  // "Use" buttons beside the test cards fill in the card number.
  for (const button of document.querySelectorAll('[data-fill-pan]')) {
    button.addEventListener('click', () => {
      const pan = document.querySelector('input[name="pan"]');
      if (!pan) return;
      pan.value = button.dataset.fillPan;
      pan.focus();
    });
  }
});
