// Writes .br (quality 11) and .gz (level 9) beside every file in the given folder, so the
// server can send precompressed assets instead of compressing them on every request.
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const dir = process.argv[2] ?? "target/site/pkg";
for (const name of readdirSync(dir)) {
  if (/\.(br|gz)$/.test(name) || !/\.(js|wasm|css)$/.test(name)) continue;
  const path = join(dir, name);
  if (!statSync(path).isFile()) continue;
  const data = readFileSync(path);
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  writeFileSync(path + ".br", br);
  writeFileSync(path + ".gz", gzipSync(data, { level: 9 }));
  console.log(`${name}: ${data.length} bytes, br ${br.length}, gz ${statSync(path + ".gz").size}`);
}
