// The iyzipay SDK behind a promise with a deadline. iyzipay builds the request, signs it
// (Authorization: IYZWSv2, x-iyzi-rnd) and sends it with postman-request, but exposes neither a
// timeout nor a way to abort: the deadline is a timer here, and an answer arriving after it is
// dropped. The caller then reports GatewayTimeoutError and retries with the same conversationId,
// which iyzico (and the sandbox) answer with the first result.
import Iyzipay from 'iyzipay';
import { GatewayError, GatewayTimeoutError } from '../../payments/gateway';

export type IyzicoResource = 'checkoutFormInitialize' | 'checkoutForm' | 'payment' | 'card' | 'refundV2' | 'installmentInfo';
export type IyzicoResponse = Record<string, unknown>;

export interface IyzicoClientOptions {
  apiKey: string;
  secretKey: string;
  /** API base: https://api.iyzipay.com, https://sandbox-api.iyzipay.com or `${sandboxUrl}/sandbox/iyzico`. */
  uri: string;
  timeoutMs: number;
}

export class IyzicoClient {
  private readonly sdk: Iyzipay;

  constructor(private readonly opts: IyzicoClientOptions) {
    this.sdk = new Iyzipay({ apiKey: opts.apiKey, secretKey: opts.secretKey, uri: opts.uri });
  }

  /** One API call; resolves with iyzico's JSON answer (status success or failure alike). */
  call(resource: IyzicoResource, method: 'create' | 'retrieve', request: Record<string, unknown>): Promise<IyzicoResponse> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new GatewayTimeoutError(`iyzico did not answer ${resource}.${method} within ${this.opts.timeoutMs} ms.`));
      }, this.opts.timeoutMs);
      try {
        this.sdk[resource][method](request, (err, result) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (err) {
            reject(new GatewayError('gateway_unreachable', `iyzico could not be reached: ${err.message}`));
          } else if (result === null || typeof result !== 'object' || Array.isArray(result)) {
            reject(new GatewayError('invalid_response', `iyzico answered ${resource}.${method} with something that is not a JSON object.`));
          } else {
            resolve(result as IyzicoResponse);
          }
        });
      } catch (err) {
        // iyzipay throws synchronously on requests it cannot build (e.g. no basketItems).
        settled = true;
        clearTimeout(timer);
        reject(new GatewayError('invalid_request', `iyzipay refused the request: ${(err as Error).message}`));
      }
    });
  }
}
