/** no_proxy grammar and the choice of a proxy for one URL (src/net/no-proxy.ts, proxy-choice.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassesProxy, parseNoProxy } from '../../src/net/no-proxy.js';
import { chooseProxy, parseProxyUrl, ProxyConfigError } from '../../src/net/proxy-choice.js';

const bypass = (noProxy: string, url: string): boolean => bypassesProxy(new URL(url), parseNoProxy(noProxy));

test('no_proxy host names match the host and its subdomains, never a longer name', () => {
  for (const entry of ['example.com', '.example.com', '*.example.com', 'EXAMPLE.com.']) {
    assert.equal(bypass(entry, 'http://example.com/x'), true, entry);
    assert.equal(bypass(entry, 'https://a.b.example.com/x'), true, entry);
    assert.equal(bypass(entry, 'http://badexample.com/x'), false, entry);
    assert.equal(bypass(entry, 'http://example.com.evil.net/x'), false, entry);
  }
  assert.equal(bypass('example.com', 'http://Example.COM./'), true);
});

test('no_proxy lists split at commas and spaces; * alone bypasses everything', () => {
  assert.equal(bypass('foo.org, bar.org  baz.org', 'http://bar.org/'), true);
  assert.equal(bypass('foo.org,bar.org', 'http://qux.org/'), false);
  assert.equal(bypass('*', 'https://anything.example/'), true);
  assert.equal(bypass('', 'https://anything.example/'), false);
  assert.equal(bypass(' , ,', 'https://anything.example/'), false);
});

test('no_proxy IP entries compare addresses, CIDR blocks included, never as name suffixes', () => {
  assert.equal(bypass('127.0.0.1', 'http://127.0.0.1:8080/'), true);
  assert.equal(bypass('0.0.1', 'http://127.0.0.1/'), false);
  assert.equal(bypass('10.0.0.0/8', 'http://10.20.30.40/'), true);
  assert.equal(bypass('10.0.0.0/8', 'http://11.0.0.1/'), false);
  assert.equal(bypass('::1', 'http://[::1]:81/'), true);
  assert.equal(bypass('[::1]', 'http://[::1]/'), true);
  assert.equal(bypass('fd00::/8', 'http://[fd12::5]/'), true);
  assert.equal(bypass('fd00::/8', 'http://[fe80::1]/'), false);
  // An address entry never matches a host name, nor a name entry an address.
  assert.equal(bypass('127.0.0.1', 'http://localhost/'), false);
  assert.equal(bypass('0.1', 'http://127.0.0.1/'), false);
});

test('no_proxy entries with a port match that port only (the default port when none is written)', () => {
  assert.equal(bypass('example.com:8080', 'http://example.com:8080/'), true);
  assert.equal(bypass('example.com:8080', 'http://example.com/'), false);
  assert.equal(bypass('example.com:443', 'https://example.com/'), true);
  assert.equal(bypass('127.0.0.1:81', 'http://127.0.0.1:81/'), true);
  assert.equal(bypass('127.0.0.1:81', 'http://127.0.0.1:82/'), false);
  assert.equal(bypass('[::1]:81', 'http://[::1]:81/'), true);
  assert.equal(bypass('[::1]:81', 'http://[::1]:82/'), false);
});

test('the proxy: no_proxy first, then the configured one, then the environment by scheme', () => {
  const configured = { url: 'http://conf.proxy:3128' };
  const env = { http_proxy: 'http://env-http:1', https_proxy: 'env-https:2', no_proxy: 'local.test' };
  const pick = (url: string, conf?: typeof configured | 'none', e: Record<string, string> = env) =>
    chooseProxy(new URL(url), conf, e)?.url;
  assert.equal(pick('http://repo.example/'), 'http://env-http:1');
  assert.equal(pick('https://repo.example/'), 'http://env-https:2');
  assert.equal(pick('https://repo.example/', configured), 'http://conf.proxy:3128');
  assert.equal(pick('https://a.local.test/', configured), undefined);
  assert.equal(pick('http://repo.example/', 'none'), undefined);
  // HTTP_PROXY in capitals is what a CGI server makes of a request's Proxy: header: never read.
  assert.equal(pick('http://repo.example/', undefined, { HTTP_PROXY: 'http://evil:1' }), undefined);
  assert.equal(pick('https://repo.example/', undefined, { HTTPS_PROXY: 'http://caps:1' }), 'http://caps:1');
  assert.equal(pick('http://repo.example/', undefined, { ALL_PROXY: 'http://all:1' }), 'http://all:1');
  assert.equal(pick('http://repo.example/', undefined, { NO_PROXY: '*', http_proxy: 'http://p:1' }), undefined);
});

test('proxy URLs: user info becomes credentials and leaves the URL; errors never echo the value', () => {
  assert.deepEqual(parseProxyUrl('http://us%40er:p%3Ass@proxy.example:3128/', 'x'), {
    url: 'http://proxy.example:3128',
    username: 'us@er',
    password: 'p:ss',
  });
  assert.deepEqual(parseProxyUrl('proxy.example:3128', 'x'), { url: 'http://proxy.example:3128' });
  assert.throws(
    () => parseProxyUrl('socks5://user:secret@h:1', '$all_proxy'),
    (e: Error) => {
      assert.ok(e instanceof ProxyConfigError);
      assert.doesNotMatch(e.message, /secret/);
      return true;
    },
  );
  assert.throws(
    () => parseProxyUrl('http://user:secret@[bad', '$http_proxy'),
    (e: Error) => !/secret/.test(e.message),
  );
});
