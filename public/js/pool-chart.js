// Draws the pool's 30-day trend from the JSON the dashboard carries (no inline script: CSP).
document.addEventListener('DOMContentLoaded', () => {
  const canvas = document.getElementById('pool-chart');
  const source = document.getElementById('pool-chart-data');
  if (!canvas || !source || typeof window.Chart === 'undefined') return;
  const data = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    type: 'line',
    data: {
      labels: data.points.map((p) => p.day.slice(5)),
      datasets: [{ label: 'Credits', data: data.points.map((p) => p.balance), borderColor: '#1565c0', backgroundColor: 'rgba(21,101,192,.12)', fill: true, pointRadius: 0, stepped: true }],
    },
    options: { animation: false, scales: { y: { beginAtZero: true } }, plugins: { legend: { display: false } } },
  });
  canvas.dataset.drawn = 'true';
});
