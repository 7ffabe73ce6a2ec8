// Stripe sandbox pages: a form is sent once (a double click must not confirm twice).
document.querySelectorAll('form[data-sandbox-form]').forEach((form) => {
  form.addEventListener('submit', () => {
    form.querySelectorAll('button[type="submit"]').forEach((b) => {
      b.setAttribute('aria-busy', 'true');
      // Disabled after this tick so the clicked button's own submission still goes out.
      setTimeout(() => { b.disabled = true; }, 0);
    });
  });
});
