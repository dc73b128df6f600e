import { describe, expect, it } from "vitest";
import { addressKey } from "../../src/dashboard/sign-in-throttle.js";

describe("the address a sign-in is counted under", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    // IPv4 through a dual-stack socket, in each spelling
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["::FFFF:203.0.113.7", "203.0.113.7"],
    ["::ffff:cb00:7107", "203.0.113.7"],
    ["0:0:0:0:0:ffff:203.0.113.7", "203.0.113.7"],
    // one client owns a /64
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002:0000:0000:0000:0001", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:a:b:1.2.3.4", "2001:db8:1:2::/64"],
    ["2001:db8::", "2001:db8:0:0::/64"],
    ["2001:db8:1:3::1", "2001:db8:1:3::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    // not an IPv6 address mapping IPv4: only ::ffff:0:0/96 is
    ["64:ff9b::203.0.113.7", "64:ff9b:0:0::/64"],
    ["::ffff:0:cb00:7107", "0:0:0:0::/64"],
    // not an address at all (no socket address): kept as it is
    ["unknown", "unknown"],
  ])("%s → %s", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
