// Progressive enhancement only; every page works without JavaScript. No inline scripts (CSP).
document.addEventListener('submit', (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // Prevent a double submit of the same form while the first request is in flight.
  const form = event.target;
  if (form.dataset.submitting) {
    event.preventDefault();
    return;
  }
  form.dataset.submitting = '1';
});


// Navigation groups: one open at a time, closed by a click elsewhere or Escape.
const navGroups = () => document.querySelectorAll('details[data-nav-group]');
document.addEventListener('toggle', (event) => {
  const opened = event.target;
  if (!(opened instanceof HTMLDetailsElement) || !opened.matches('[data-nav-group]') || !opened.open) return;
  for (const d of navGroups()) if (d !== opened) d.open = false;
}, true);
document.addEventListener('click', (event) => {
  for (const d of navGroups()) if (d.open && !d.contains(event.target)) d.open = false;
});
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  for (const d of navGroups()) if (d.open) { d.open = false; d.querySelector('summary')?.focus(); }
});
