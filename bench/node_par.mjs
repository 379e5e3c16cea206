// bench/node_par.mjs BASE_URL N CONC: the official Node SDK (npm `openai`,
// installed by bench/https.sh into build/node) making N chat.completions
// calls with CONC in flight (CONC workers taking calls from one queue), in
// a fresh process, connections opened inside the timing as the Lua side
// does. The CA comes from NODE_EXTRA_CA_CERTS. Prints key=value: wall and
// CPU (user + system) of the batch, ms.
import OpenAI from "openai";

const [baseURL, nArg, concArg] = process.argv.slice(2);
const n = Number(nArg), conc = Number(concArg);
const client = new OpenAI({ apiKey: "sk-bench", baseURL, maxRetries: 0 });
const messages = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Who won the world series in 2020?" },
  { role: "assistant", content: "The Los Angeles Dodgers won the World Series in 2020." },
  { role: "user", content: "Where was it played?" },
];

let next = 0;
async function worker() {
  while (next < n) {
    next += 1;
    const res = await client.chat.completions.create({ model: "gpt-3.5-turbo", messages });
    if (!res.choices) throw new Error("bench: no choices");
  }
}

const c0 = process.cpuUsage();
const w0 = performance.now();
await Promise.all(Array.from({ length: conc }, worker));
const wall = performance.now() - w0;
const cpu = process.cpuUsage(c0);
console.log(`wall_ms=${wall.toFixed(1)}`);
console.log(`cpu_ms=${((cpu.user + cpu.system) / 1000).toFixed(1)}`);
