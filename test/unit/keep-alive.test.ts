import { expect } from "chai";
import { isKeepAlive, KEEP_ALIVE_BODY, partitionKeepAlives } from "../../worker/src/consumer/keep-alive";

describe("keep-alive message recognition", () => {
  it("recognises the scheduled body and the documented minimal shape", () => {
    expect(isKeepAlive(KEEP_ALIVE_BODY)).to.equal(true);
    expect(isKeepAlive('{"keep_alive":true}')).to.equal(true);
    expect(isKeepAlive('  { "keep_alive" : true, "sent_by": "scheduler" } ')).to.equal(true);
  });

  it("never takes a job for one: anything with a tenant_id, or keep_alive not exactly true", () => {
    expect(isKeepAlive('{"keep_alive":true,"tenant_id":1,"to":"01012345678","text":"출석"}')).to.equal(false);
    expect(isKeepAlive('{"keep_alive":"true"}')).to.equal(false);
    expect(isKeepAlive('{"keep_alive":1}')).to.equal(false);
    expect(isKeepAlive('[{"keep_alive":true}]')).to.equal(false);
    expect(isKeepAlive('{"keep_alive":true')).to.equal(false);
    expect(isKeepAlive('{"tenant_id":1,"to":"01012345678","text":"keep_alive"}')).to.equal(false);
    expect(isKeepAlive("")).to.equal(false);
  });

  it("splits a receive, keeping each side's order", () => {
    const messages = [
      { body: '{"tenant_id":1}', id: 1 },
      { body: KEEP_ALIVE_BODY, id: 2 },
      { body: '{"tenant_id":2}', id: 3 },
    ];
    const { keepAlives, jobs } = partitionKeepAlives(messages);
    expect(keepAlives.map((message) => message.id)).to.deep.equal([2]);
    expect(jobs.map((message) => message.id)).to.deep.equal([1, 3]);
  });
});
