/**
 * Run by lib/core/image-guard.ts as a child process: SVG on stdin → PNG on stdout (fast, uncompressed),
 * refusing more than argv[2] pixels. Its parent kills it at the decode time limit.
 */
import sharp from 'sharp';

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const png = await sharp(Buffer.concat(chunks), { limitInputPixels: Number(process.argv[2]) || 40_000_000, failOn: 'warning' })
    .png({ compressionLevel: 0 })
    .toBuffer();
  process.stdout.write(png);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
