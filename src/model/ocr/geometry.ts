// Plane geometry for text boxes: convex hull, minimum-area rectangle (OpenCV's minAreaRect), the
// corner order PaddleOCR gives boxes, polygon area and perimeter, and the IoU of two convex quads.

export type Point = [number, number];
/** A box's four corners: top-left, top-right, bottom-right, bottom-left. */
export type Quad = [Point, Point, Point, Point];

const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/** Convex hull (Andrew's monotone chain), counter-clockwise in y-up terms, no repeated point. */
export function convexHull(points: readonly Point[]): Point[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p.filter((q, i) => i === 0 || q[0] !== p[i - 1]![0] || q[1] !== p[i - 1]![1]);
  const lower: Point[] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: Point[] = [];
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

export interface MinRect {
  /** corners in the order of the rectangle's sides (not yet the box order: see orderBox) */
  corners: Quad;
  /** side lengths */
  width: number;
  height: number;
}

/** Minimum-area enclosing rectangle of `points` (rotating calipers over the hull's edges). */
export function minAreaRect(points: readonly Point[]): MinRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { corners: [[0, 0], [0, 0], [0, 0], [0, 0]], width: 0, height: 0 };
  let best: MinRect | null = null;
  let bestArea = Infinity;
  const edges = hull.length === 1 ? 1 : hull.length;
  for (let i = 0; i < edges; i++) {
    const a = hull[i]!, b = hull[(i + 1) % hull.length]!;
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    const ux = len > 0 ? (b[0] - a[0]) / len : 1, uy = len > 0 ? (b[1] - a[1]) / len : 0;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const q of hull) {
      const u = q[0] * ux + q[1] * uy, v = -q[0] * uy + q[1] * ux;
      minU = Math.min(minU, u); maxU = Math.max(maxU, u);
      minV = Math.min(minV, v); maxV = Math.max(maxV, v);
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const at = (u: number, v: number): Point => [u * ux - v * uy, u * uy + v * ux];
      best = { corners: [at(minU, minV), at(maxU, minV), at(maxU, maxV), at(minU, maxV)], width: maxU - minU, height: maxV - minV };
    }
  }
  return best!;
}

/**
 * PaddleOCR's corner order (get_mini_boxes): the two leftmost corners give the top-left (smaller y)
 * and bottom-left, the two rightmost the top-right and bottom-right.
 */
export function orderBox(corners: readonly Point[]): Quad {
  const p = [...corners].sort((a, b) => a[0] - b[0]);
  const [tl, bl] = p[1]![1] > p[0]![1] ? [p[0]!, p[1]!] : [p[1]!, p[0]!];
  const [tr, br] = p[3]![1] > p[2]![1] ? [p[2]!, p[3]!] : [p[3]!, p[2]!];
  return [tl, tr, br, bl];
}

/** Area of a simple polygon (shoelace, absolute). */
export function polygonArea(poly: readonly Point[]): number {
  let s = 0;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i]!, b = poly[(i + 1) % poly.length]!;
    s += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(s) / 2;
}

/** Perimeter of a closed polygon. */
export function polygonPerimeter(poly: readonly Point[]): number {
  let s = 0;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i]!, b = poly[(i + 1) % poly.length]!;
    s += Math.hypot(b[0] - a[0], b[1] - a[1]);
  }
  return s;
}

/** The convex polygon `subject` clipped to the convex polygon `clip` (Sutherland–Hodgman). */
function clipConvex(subject: readonly Point[], clip: readonly Point[]): Point[] {
  const sign = Math.sign(cross(clip[0]!, clip[1]!, clip[2]!)) || 1; // orientation of the clip polygon
  let out: Point[] = [...subject];
  for (let i = 0; i < clip.length && out.length > 0; i++) {
    const a = clip[i]!, b = clip[(i + 1) % clip.length]!;
    const inside = (p: Point) => sign * cross(a, b, p) >= 0;
    const cut = (p: Point, q: Point): Point => {
      const d1 = cross(a, b, p), d2 = cross(a, b, q);
      const t = d1 / (d1 - d2);
      return [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t];
    };
    const input = out;
    out = [];
    for (let j = 0; j < input.length; j++) {
      const p = input[j]!, q = input[(j + 1) % input.length]!;
      if (inside(q)) {
        if (!inside(p)) out.push(cut(p, q));
        out.push(q);
      } else if (inside(p)) out.push(cut(p, q));
    }
  }
  return out;
}

/** Intersection over union of two convex quadrilaterals (0 when either has no area). */
export function quadIoU(a: readonly Point[], b: readonly Point[]): number {
  const areaA = polygonArea(a), areaB = polygonArea(b);
  if (areaA <= 0 || areaB <= 0) return 0;
  const inter = polygonArea(clipConvex(a, b));
  return inter / (areaA + areaB - inter);
}

/**
 * PaddleOCR's reading order (sorted_boxes): by the top-left corner's y then x, then neighbours
 * whose top-left y differ by less than 10 px are put left to right.
 */
export function sortBoxes<T extends { box: Quad }>(items: readonly T[]): T[] {
  const out = [...items].sort((a, b) => a.box[0][1] - b.box[0][1] || a.box[0][0] - b.box[0][0]);
  for (let i = 0; i < out.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      const p = out[j]!, q = out[j + 1]!;
      if (Math.abs(q.box[0][1] - p.box[0][1]) < 10 && q.box[0][0] < p.box[0][0]) {
        out[j] = q;
        out[j + 1] = p;
      } else break;
    }
  }
  return out;
}
