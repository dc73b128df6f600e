import express from "express";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { parseTrustProxy } from "../src/trust-proxy.js";

const base = { TRS_API_BASE_URL: "https://trs.example", TRS_API_KEY: "k" };

describe("TRUST_PROXY", () => {
  it.each([
    [undefined, false],
    ["", false],
    ["off", false],
    ["FALSE", false],
    ["0", false],
    ["1", 1],
    [" 2 ", 2],
    ["10.0.0.1", ["10.0.0.1"]],
    ["10.0.0.0/8, 192.168.1.0/24", ["10.0.0.0/8", "192.168.1.0/24"]],
    ["10.1.2.3/32", ["10.1.2.3/32"]],
    ["::1", ["::1"]],
    ["fd00::/8,2001:db8::/128", ["fd00::/8", "2001:db8::/128"]],
    ["::ffff:10.0.0.1", ["::ffff:10.0.0.1"]],
    ["loopback, LinkLocal,uniquelocal", ["loopback", "linklocal", "uniquelocal"]],
    ["loopback,10.0.0.0/8", ["loopback", "10.0.0.0/8"]],
  ])("accepts %j as %j, and Express takes it", (text, value) => {
    expect(parseTrustProxy(text)).toEqual({ value });
    expect(loadConfig({ ...base, ...(text === undefined ? {} : { TRUST_PROXY: text }) }).trustProxy).toEqual(value);
    // proxy-addr compiles the setting at once and throws on what it cannot read
    expect(() => express().set("trust proxy", value)).not.toThrow();
  });

  it.each([
    ["true", /never "true"/],
    ["TRUE", /never "TRUE"/],
    ["*", /never "\*"/],
    ["all", /never "all"/],
    ["yes", /never "yes"/],
    ["100", /hop count of 100/],
    ["-1", /"-1" is not an IPv4 or IPv6 address/],
    ["1.5", /"1\.5" is not an IPv4 or IPv6 address/],
    ["10.0.0.0/33", /"10\.0\.0\.0\/33" has no valid prefix length \(1 to 32 for IPv4\)/],
    ["fd00::/129", /"fd00::\/129" has no valid prefix length \(1 to 128 for IPv6\)/],
    ["0.0.0.0/0", /"0\.0\.0\.0\/0" would trust every address/],
    ["::/0", /"::\/0" would trust every address/],
    ["fe80::1%eth0", /"fe80::1%eth0" is not an IPv4 or IPv6 address/],
    ["10.0.0.0/", /"10\.0\.0\.0\/" has no valid prefix length/],
    ["10.0.0.0/8/8", /"10\.0\.0\.0\/8\/8" has no valid prefix length/],
    ["10.0.0.0/255.0.0.0", /"10\.0\.0\.0\/255\.0\.0\.0" has no valid prefix length/],
    ["10.0.0.256", /"10\.0\.0\.256" is not an IPv4 or IPv6 address/],
    ["loopback,my-proxy.internal", /"my-proxy\.internal" is not an IPv4 or IPv6 address, a subnet, or loopback/],
    ["10.0.0.1,*", /"\*" would trust every client/],
    ["10.0.0.1,true", /"true" would trust every client/],
    ["10.0.0.1,", /an empty entry/],
    ["10.0.0.1,,10.0.0.2", /an empty entry/],
    ["localhost", /"localhost" is not an IPv4/],
  ])("refuses %j, naming the bad entry", (text, message) => {
    const parsed = parseTrustProxy(text);
    expect(parsed).toEqual({ problem: expect.stringMatching(message) });
    try {
      loadConfig({ ...base, TRUST_PROXY: text });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^TRUST_PROXY/)]);
      expect((error as ConfigError).problems[0]).toMatch(message);
    }
  });
});
