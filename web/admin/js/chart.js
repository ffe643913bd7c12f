// chart: a small SVG line chart of the last samples of a series (the status page's
// per-node history), with its latest value as text for those who do not read charts.
const NS = 'http://www.w3.org/2000/svg';

export function sparkline(values, { width = 140, height = 32, label = '' } = {}) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  const last = values.length ? values[values.length - 1] : 0;
  svg.setAttribute('aria-label', `${label}: ${last} (last ${values.length} samples)`);
  if (values.length === 0) return svg;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const y = (v) => height - 2 - (v / max) * (height - 4);
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`);
  const area = document.createElementNS(NS, 'polygon');
  area.setAttribute('points', `0,${height} ${pts.join(' ')} ${((values.length - 1) * step).toFixed(1)},${height}`);
  area.setAttribute('class', 'spark-area');
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute('points', pts.join(' '));
  line.setAttribute('class', 'spark-line');
  svg.append(area, line);
  return svg;
}
