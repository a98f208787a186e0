/** Area under a curve through the points (trapezoids, in order of x): a ROC curve's AUC. */
export function auc(x: readonly number[], y: readonly number[]): number {
  const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b] || y[a] - y[b]);
  let area = 0;
  for (let k = 1; k < order.length; k++) {
    const [i, j] = [order[k - 1], order[k]];
    area += ((x[j] - x[i]) * (y[i] + y[j])) / 2;
  }
  return area;
}
