// Minimal typings for aedes-persistence-redis (the package ships none): the factory and the
// options we pass. The instance is handed to aedes, which knows its interface.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';
  interface AedesPersistenceRedisOptions {
    /** A connection made by the caller (its key prefix namespaces every key). */
    readonly conn?: Redis;
    readonly maxSessionDelivery?: number;
  }
  function aedesPersistenceRedis(options?: AedesPersistenceRedisOptions): unknown;
  export default aedesPersistenceRedis;
}
