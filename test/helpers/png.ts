/** What a test can tell about a PNG without looking at it: decoded with pngjs (not our renderer). */
import { PNG } from 'pngjs';

export interface PixelStats {
	colours: number;
	/** Share of non-white pixels in a box of pixel coordinates. */
	ink(box: { x0: number; y0: number; x1: number; y1: number }): number;
}

export function pixelStats(png: Buffer): PixelStats & { width: number; height: number } {
	const image = PNG.sync.read(png);
	const colours = new Set<number>();
	for (let i = 0; i < image.data.length; i += 4) colours.add(image.data.readUInt32BE(i));
	const ink = (box: { x0: number; y0: number; x1: number; y1: number }) => {
		let inked = 0;
		let total = 0;
		for (let y = Math.max(0, Math.floor(box.y0)); y < Math.min(image.height, box.y1); y++) {
			for (let x = Math.max(0, Math.floor(box.x0)); x < Math.min(image.width, box.x1); x++) {
				const i = (y * image.width + x) * 4;
				total++;
				if (image.data[i] < 235 || image.data[i + 1] < 235 || image.data[i + 2] < 235) inked++;
			}
		}
		return total ? inked / total : 0;
	};
	return { width: image.width, height: image.height, colours: colours.size, ink };
}
