/** A line of a chart: y values at x positions; a null y leaves a gap. */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly (readonly [x: number, y: number | null])[];
}

export interface Panel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
}

const width = 960;
const panelHeight = 250;
const margin = { left: 70, right: 190, top: 34, bottom: 44 };

/** A small hand-rolled SVG of panels stacked over one shared x axis (no dependencies, no native builds). */
export function lineChartSvg(options: { title: string; xLabel: string; panels: readonly Panel[] }): string {
  const allX = options.panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xAxis = axis(Math.max(1, ...allX));
  const xMax = xAxis.max;
  const plotWidth = width - margin.left - margin.right;
  const height = 30 + options.panels.length * panelHeight;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
  ];

  options.panels.forEach((panel, i) => {
    const top = 30 + i * panelHeight + margin.top;
    const plotHeight = panelHeight - margin.top - margin.bottom;
    const ys = panel.series.flatMap((s) => s.points.flatMap(([, y]) => (y === null ? [] : [y])));
    const yAxis = axis(Math.max(1, ...ys));
    const yMax = yAxis.max;
    const sx = (x: number) => margin.left + (x / xMax) * plotWidth;
    const sy = (y: number) => top + plotHeight - (y / yMax) * plotHeight;

    out.push(`<text x="${margin.left}" y="${top - 10}" font-weight="bold">${esc(panel.title)}</text>`);
    for (const t of yAxis.ticks) {
      out.push(
        `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`,
        `<text x="${margin.left - 6}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
      );
    }
    for (const t of xAxis.ticks) {
      out.push(
        `<line x1="${sx(t)}" x2="${sx(t)}" y1="${top + plotHeight}" y2="${top + plotHeight + 4}" stroke="#333"/>`,
        `<text x="${sx(t)}" y="${top + plotHeight + 17}" text-anchor="middle">${fmt(t)}</text>`,
      );
    }
    out.push(
      `<rect x="${margin.left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
      `<text x="${margin.left + plotWidth / 2}" y="${top + plotHeight + 34}" text-anchor="middle">${esc(options.xLabel)}</text>`,
      `<text transform="translate(16 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${esc(panel.yLabel)}</text>`,
    );

    panel.series.forEach((s, k) => {
      let d = '';
      let pen = 'M';
      for (const [x, y] of s.points) {
        if (y === null) {
          pen = 'M';
          continue;
        }
        d += `${pen}${sx(x).toFixed(1)} ${sy(y).toFixed(1)} `;
        pen = 'L';
      }
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      if (d) out.push(`<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="1.8"${dash}/>`);
      const ly = top + 8 + k * 18;
      const lx = margin.left + plotWidth + 14;
      out.push(
        `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
        `<text x="${lx + 30}" y="${ly + 4}">${esc(s.name)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** An axis from 0 past `v` in at most 6 steps of 1, 2, 2.5 or 5 times a power of ten. */
function axis(v: number): { max: number; ticks: number[] } {
  const p = 10 ** Math.floor(Math.log10(v / 6));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * p * 6 >= v) ?? 10) * p;
  const steps = Math.max(1, Math.ceil(v / step - 1e-9));
  return { max: steps * step, ticks: Array.from({ length: steps + 1 }, (_, i) => i * step) };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 1 ? 2 : 1);
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
