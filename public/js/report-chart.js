// Draws a report's chart from its canvas's data-chart attribute (no inline script: CSP). The
// server sends the labels already formatted in the reader's language and zone.
document.addEventListener('DOMContentLoaded', () => {
  if (typeof window.Chart === 'undefined') return;
  const colours = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a'];
  for (const canvas of document.querySelectorAll('canvas.report-chart-canvas')) {
    const spec = JSON.parse(canvas.dataset.chart || '{}');
    if (!spec.labels || spec.labels.length === 0) continue;
    const numbers = new Intl.NumberFormat(canvas.dataset.locale || undefined);
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d, i) => ({
          label: d.label, data: d.data, stack: d.stack, borderColor: colours[i % colours.length], backgroundColor: spec.type === 'line' ? 'transparent' : colours[i % colours.length],
          pointRadius: 0, tension: 0.2, yAxisID: spec.type === 'line' && i === 1 ? 'y1' : 'y',
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { stacked: !!spec.stacked, ticks: { maxRotation: 0, autoSkip: true } },
          y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { callback: (v) => numbers.format(v) } },
          ...(spec.type === 'line' && spec.datasets.length > 1 ? { y1: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: (v) => numbers.format(v) } } } : {}),
        },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${numbers.format(c.raw)}` } } },
      },
    });
    canvas.dataset.drawn = 'true';
  }
});
