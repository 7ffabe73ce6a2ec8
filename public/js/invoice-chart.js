// Draws the invoice prediction chart from the JSON the page carries (no inline script: CSP).
document.addEventListener('DOMContentLoaded', () => {
  const canvas = document.getElementById('invoice-chart');
  const source = document.getElementById('invoice-chart-data');
  if (!canvas || !source || typeof window.Chart === 'undefined') return;
  const data = JSON.parse(source.textContent);
  // Minor units to major for the axis only; the amounts shown in the tables are exact.
  const major = (minor) => minor / 100;
  const labels = data.points.map((p) => p.day.slice(8));
  // The legend in the reader's language (the page puts the catalog's words in the JSON).
  const names = data.labels || { soFar: 'So far', estimate: 'Estimate' };
  const actual = data.points.map((p) => (p.estimated ? null : major(p.amountMinor)));
  const estimate = data.points.map((p, i) => (p.estimated || (data.points[i + 1] && data.points[i + 1].estimated) ? major(p.amountMinor) : null));
  new window.Chart(canvas, {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: names.soFar, data: actual, borderColor: '#1565c0', backgroundColor: 'rgba(21,101,192,.15)', fill: true, pointRadius: 2 },
        { label: names.estimate, data: estimate, borderColor: '#90a4ae', borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: { animation: false, scales: { y: { beginAtZero: true, title: { display: true, text: data.currency || '' } } }, plugins: { legend: { position: 'bottom' } } },
  });
  canvas.dataset.drawn = 'true';
});
