import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Twilio is a SaaS we cannot reach from tests, so this double speaks its wire format:
 * POST /2010-04-01/Accounts/{Sid}/Messages.json, form-encoded, HTTP basic auth, answering
 * 201 with a Message resource or 400 with Twilio's error body.
 */
export function fakeTwilio(): Promise<{ url: string; messages: URLSearchParams[]; auth: string[]; failNext: { n: number }; close: () => Promise<void> }> {
  const messages: URLSearchParams[] = [];
  const auth: string[] = [];
  const failNext = { n: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const m = /^\/2010-04-01\/Accounts\/(AC\w+)\/Messages\.json$/.exec(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (req.method !== 'POST' || m === null || req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
        res.writeHead(404).end(JSON.stringify({ code: 20404, message: 'The requested resource was not found', status: 404 }));
        return;
      }
      if (failNext.n > 0) {
        failNext.n--;
        res.writeHead(503).end(JSON.stringify({ code: 20503, message: 'Service unavailable', more_info: 'https://www.twilio.com/docs/errors/20503', status: 503 }));
        return;
      }
      const form = new URLSearchParams(body);
      auth.push(req.headers.authorization ?? '');
      messages.push(form);
      res.writeHead(201).end(
        JSON.stringify({ sid: `SM${String(messages.length).padStart(32, '0')}`, account_sid: m[1], to: form.get('To'), from: form.get('From'), body: form.get('Body'), status: 'queued', num_segments: '1', api_version: '2010-04-01' }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, messages, auth, failNext, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

