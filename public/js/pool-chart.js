// Draws the pool's 30-day trend from the JSON the dashboard carries (no inline script: CSP).
// Every word comes from the page, in the reader's language: the series' name from the canvas's
// data-series-label, the days' labels (formatted on the server) from the JSON.
document.addEventListener('DOMContentLoaded', () => {
  const canvas = document.getElementById('pool-chart');
  const source = document.getElementById('pool-chart-data');
  if (!canvas || !source || typeof window.Chart === 'undefined') return;
  const data = JSON.parse(source.textContent);
  const labels = Array.isArray(data.labels) && data.labels.length === data.points.length ? data.labels : data.points.map((p) => p.day);
  new window.Chart(canvas, {
    type: 'line',
    data: {
      labels,
      datasets: [{ label: canvas.dataset.seriesLabel || '', data: data.points.map((p) => p.balance), borderColor: '#1565c0', backgroundColor: 'rgba(21,101,192,.12)', fill: true, pointRadius: 0, stepped: true }],
    },
    options: {
      animation: false,
      locale: document.documentElement.lang || undefined,
      scales: { y: { beginAtZero: true }, x: { ticks: { autoSkip: true, maxRotation: 0 } } },
      plugins: { legend: { display: false } },
    },
  });
  canvas.dataset.drawn = 'true';
});
