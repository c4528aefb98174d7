import assert from "node:assert/strict";
import { Child, ChildTimeoutError, programStderr, runChild } from "./_child.ts";

/** Whether a process of that id is still running (a zombie counts as ended). */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

Deno.test("a child that does not end within its limit is killed, and its awaiter hears which", async () => {
  await using child = new Child("sleep", { args: ["1000"], limitMs: 100, name: "the sleeper" });
  await assert.rejects(
    child.status,
    (error) =>
      error instanceof ChildTimeoutError &&
      error.message === "the sleeper did not end within 0.1 s: it was killed",
  );
  assert.equal(await running(child.pid), false);
});

Deno.test("runChild() fails, not hangs, on a child that never ends", async () => {
  await assert.rejects(runChild("sleep", { args: ["1000"], limitMs: 100 }), ChildTimeoutError);
});

Deno.test("a group's limit kills the whole group, not only its leader", async () => {
  // The leader starts a second sleeper in the background and says its id.
  await using child = new Child("bash", {
    args: ["-c", "sleep 1000 & echo $!; wait"],
    group: true,
    limitMs: 100,
  });
  const reader = child.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  await reader.cancel();
  const background = Number(value);
  assert.ok(background > 0, String(value));
  await assert.rejects(child.status, ChildTimeoutError);
  assert.equal(await running(background), false, "the background sleeper was killed too");
});

Deno.test("a child that ends in time gives its code and output; disposal ends one still running", async () => {
  const done = await runChild("bash", {
    args: ["-c", 'read line; echo "$line!"; echo err >&2; exit 3'],
    input: "hi\n",
  });
  assert.deepEqual(done, { code: 3, signal: null, stdout: "hi!\n", stderr: "err\n" });
  let pid = 0;
  {
    await using child = new Child("sleep", { args: ["1000"] });
    pid = child.pid;
  }
  assert.equal(await running(pid), false);
});

Deno.test("programStderr() drops only the lines Deno prints while it downloads", () => {
  const stderr = [
    "\x1b[0m\x1b[32mDownload\x1b[0m https://registry.npmjs.org/cli-progress\n",
    "Download https://registry.npmjs.org/@nats-io%2ftransport-node\n",
    "threadcount client: cannot connect\n",
    "Download failed, says the program\n",
    "Download https://example.com/x and more\n",
  ].join("");
  assert.equal(
    programStderr(stderr),
    "threadcount client: cannot connect\nDownload failed, says the program\n" +
      "Download https://example.com/x and more\n",
  );
  assert.equal(programStderr(""), "");
});
