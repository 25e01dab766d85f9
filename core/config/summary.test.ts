import { describe, expect, it } from 'vitest';
import { loadConfig } from './load-config.js';
import { configSummary, safeUrl } from './summary.js';

describe('configuration summary for the start-up log', () => {
  it('names ports, store and integrations, and never a secret', () => {
    const secrets = {
      RPM_ADMIN_TOKEN: 'admin-token-0123456789-S3CR3T',
      RPM_DATABASE_URL: 'postgres://rpm:db-password-S3CR3T@db.internal:5432/rpm?sslmode=require',
      RPM_STORE: 'postgres',
      RPM_TWILIO_ACCOUNT_SID: 'AC0123-S3CR3T',
      RPM_TWILIO_AUTH_TOKEN: 'twilio-token-S3CR3T',
      RPM_TWILIO_FROM: '+15550001111',
      RPM_SECRET_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    };
    const config = loadConfig({ RPM_HTTP_PORT: '8081', ...secrets });
    const summary = configSummary(config);
    const text = JSON.stringify(summary);
    for (const value of Object.values(secrets).filter((v) => v !== 'postgres')) expect(text).not.toContain(value);
    expect(text, text).not.toContain('S3CR3T');
    expect(text).not.toContain(Buffer.alloc(32, 7).toString('base64'));
    expect(summary).toMatchObject({
      http: { port: 8081 },
      mqtt: { port: 1883 },
      store: { kind: 'postgres', server: 'postgres://db.internal:5432/rpm' },
      adminTokenSource: 'set',
      secretKeysSource: 'RPM_SECRET_KEYS',
      sms: 'twilio https://api.twilio.com',
    });
  });

  it('strips credentials and queries from URLs', () => {
    expect(safeUrl('redis://:pw@cache:6379/0?x=1')).toBe('redis://cache:6379/0');
    expect(safeUrl('not a url')).toBe('(unparsable URL)');
  });
});
