/** The upstream's answers, shared with the runner so it can check every response arrived whole. */
export const SMALL_BODY = Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
export const BIG_BODY = Buffer.alloc(100 * 1024, 'x');
/** Paths: anything else answers the small body. */
export const BIG_PATH = '/big';
export const SMALL_PATH = '/api/v1/query?query=up';
