/**
 * The shipped broker configurations (deploy/): with a user per node, a student's
 * node cannot take, answer or forge another node's batches, hellos or goodbyes; the
 * monitoring page is on loopback only. Runs the real nats-server on the shipped
 * files; skipped, and said so, where nats-server is not installed.
 */
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { fleetWorkers } from "../lib/fleet/server_fleet.ts";
import {
  byeSubject,
  encodeBye,
  encodeReport,
  helloSubject,
  randomToken,
  runSubject,
  WHO_SUBJECT,
} from "../lib/fleet/fleet_wire.ts";
import { FleetNode } from "../lib/fleet/fleet_node.ts";
import { startServer } from "./_helpers.ts";
import { bounded, NATS_SERVER, NatsServer, quickClient, strangerHello } from "./_nats.ts";

const deploy = new URL("../deploy/", import.meta.url);

/** The shipped users' passwords, as deploy/nats-users.conf has them. */
const PASSWORD = {
  server: "change-me-server-password",
  "lab-b": "change-me-lab-b-password",
  "lab-c": "change-me-lab-c-password",
};

function login(port: number, user: keyof typeof PASSWORD): Promise<NatsConnection> {
  return connect({ servers: `127.0.0.1:${port}`, user, pass: PASSWORD[user], name: user });
}

Deno.test("deploy: every broker config serves its monitoring page on loopback only", async () => {
  const files = ["nats-fleet.conf", ...[1, 2, 3].map((i) => `nats-cluster/nats-${i}.conf`)];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, deploy));
    const monitors = text.split("\n").filter((line) =>
      /^\s*(http|https|http_port)\s*[:=]/.test(line)
    );
    assert.deepEqual(monitors, ["http: 127.0.0.1:8222"], file);
    assert.match(text, /include (\.\.\/)?nats-users\.conf/, `${file} has the fleet's users`);
  }
});

Deno.test({
  name: "deploy: with the shipped users, a node's credentials cannot take or forge another node's",
  ignore: !NATS_SERVER,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "threadcount-nats-" });
    try {
      // The shipped files, the monitoring page left out (a test may not take port 8222).
      const fleet = await Deno.readTextFile(new URL("nats-fleet.conf", deploy));
      await Deno.writeTextFile(`${dir}/nats-fleet.conf`, fleet.replace(/^http:.*$/m, ""));
      await Deno.copyFile(new URL("nats-users.conf", deploy), `${dir}/nats-users.conf`);
      await using nats = await NatsServer.start(-1, ["-c", `${dir}/nats-fleet.conf`]);

      const nc = await login(nats.port, "server");
      const labB = await login(nats.port, "lab-b");
      const student = await login(nats.port, "lab-c");
      const violations: string[] = [];
      const watching = (async () => {
        for await (const status of student.status()) {
          if (status.type === "error") violations.push(status.error.message);
        }
      })();
      try {
        await using server = startServer({
          graceMs: 1000,
          workers: 0,
          minUnits: 1,
          maxUnits: 3,
          iterationsPerUnit: 1_000_000,
          remoteWorkers: fleetWorkers(nc),
        });
        const { recorder } = server;
        const node = new FleetNode(labB, {
          name: "lab-b",
          workers: 1,
          heartbeatMs: 200,
          maxQueuedBatches: 64,
          log: () => {},
        });
        try {
          await bounded(recorder.waitForType("node-joined"), "lab-b");
          // lab-c's credentials try to take lab-b's batches, answer for it, speak for it.
          let stolen = 0;
          student.subscribe(runSubject("lab-b", 0), {
            callback: (error) => void (error || stolen++),
          });
          student.subscribe("_INBOX.>", { callback: (error) => void (error || stolen++) });
          strangerHello(student, "lab-b", 64);
          student.publish(
            byeSubject("lab-b"),
            encodeBye({ node: "lab-b", session: randomToken(), secret: randomToken() }),
          );
          student.publish("_INBOX.forged.1", encodeReport(new Float64Array([1, 1, 0, 1])));
          student.publish(runSubject("lab-b", 0), new Uint8Array(8), { reply: "_INBOX.x.1" });
          await student.flush();
          await using client = await quickClient(server.addr);
          assert.deepEqual(await bounded(client.request("4 60"), "the answer"), {
            kind: "value",
            text: "64",
          });
          assert.equal(stolen, 0);
          const stats = server.stats();
          assert.equal(stats.fleet_malformed, 0, "nothing forged reached the server");
          assert.equal(stats.fleet_batches_resent, 0);
          assert.equal(recorder.of("node-lost").length, 0);
          assert.deepEqual(server.laneNames(), ["lab-b/worker 0"]);
          assert.equal(node.stats.malformed, 0, "nothing forged reached the node");
          // The broker refused each attempt, and said so to the student's connection.
          for (
            const subject of [
              runSubject("lab-b", 0),
              "_INBOX.>",
              helloSubject("lab-b"),
              byeSubject("lab-b"),
              "_INBOX.forged.1",
            ]
          ) {
            assert.ok(
              violations.some((v) => v.includes(`"${subject}"`)),
              `${subject} refused: ${violations.join("; ")}`,
            );
          }
          // While its own subjects are its own: lab-c may announce itself as lab-c.
          assert.ok(!violations.some((v) => v.includes(WHO_SUBJECT)));
        } finally {
          await node.close();
        }
      } finally {
        await student.close();
        await watching;
        await labB.close();
        await nc.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
