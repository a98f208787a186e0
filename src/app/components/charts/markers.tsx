// Marker shapes for a second dimension of a scatter, after colour took the first (the embedding:
// colour is the class, the marker the attack). One SVG path per shape, centred on 0,0, serves
// both the canvas (Path2D) and the legend (<path>), so the two always match.

export interface Marker {
  name: string;
  /** Path of radius r around the origin. */
  path: (r: number) => string;
  /** Filled, or only stroked (a cross has no inside). */
  filled: boolean;
}

const MARKERS: Marker[] = [
  {
    name: 'dot',
    path: (r) => `M${-r},0a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0Z`,
    filled: true,
  },
  { name: 'cross', path: (r) => `M${-r},${-r}L${r},${r}M${-r},${r}L${r},${-r}`, filled: false },
  {
    name: 'triangle',
    path: (r) => `M0,${-1.15 * r}L${r},${0.85 * r}L${-r},${0.85 * r}Z`,
    filled: true,
  },
  { name: 'square', path: (r) => `M${-r},${-r}H${r}V${r}H${-r}Z`, filled: false },
  { name: 'diamond', path: (r) => `M0,${-1.3 * r}L${r},0L0,${1.3 * r}L${-r},0Z`, filled: false },
  {
    name: 'plus',
    path: (r) => `M${-1.2 * r},0H${1.2 * r}M0,${-1.2 * r}V${1.2 * r}`,
    filled: false,
  },
];

export const marker = (i: number): Marker => MARKERS[i % MARKERS.length];

/** The marker as an inline SVG icon, for legends. */
export function MarkerIcon({ index, color }: { index: number; color: string }) {
  const m = marker(index);
  return (
    <svg className="marker-icon" viewBox="-6 -6 12 12" aria-hidden="true">
      {/* style, not attributes: a CSS variable works only there. */}
      <path
        d={m.path(4)}
        style={{ fill: m.filled ? color : 'none', stroke: color, strokeWidth: m.filled ? 0 : 1.6 }}
      />
    </svg>
  );
}
