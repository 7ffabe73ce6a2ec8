// The iyzipay package (2.0.x) ships no types. Only what Kontor calls is declared; requests and
// responses stay loose records because iyzipay passes them through as JSON and Kontor checks
// every field it reads (see client.ts and gateway.ts).
declare module 'iyzipay' {
  type IyzipayCallback = (err: Error | null, result: unknown) => void;

  interface IyzipayOperation {
    create(request: Record<string, unknown>, cb: IyzipayCallback): void;
    retrieve(request: Record<string, unknown>, cb: IyzipayCallback): void;
  }

  class Iyzipay {
    constructor(config: { apiKey: string; secretKey: string; uri: string });
    /** POST /payment/iyzipos/checkoutform/initialize/auth/ecom */
    checkoutFormInitialize: IyzipayOperation;
    /** POST /payment/iyzipos/checkoutform/auth/ecom/detail (retrieve) */
    checkoutForm: IyzipayOperation;
    /** POST /payment/auth (create), POST /payment/detail (retrieve) */
    payment: IyzipayOperation;
    /** POST /cardstorage/card */
    card: IyzipayOperation;
    /** POST /v2/payment/refund */
    refundV2: IyzipayOperation;
    /** POST /payment/iyzipos/installment (retrieve): installment prices for a card's BIN */
    installmentInfo: IyzipayOperation;

    static LOCALE: { TR: 'tr'; EN: 'en' };
    static PAYMENT_GROUP: { PRODUCT: 'PRODUCT'; LISTING: 'LISTING'; SUBSCRIPTION: 'SUBSCRIPTION' };
    static BASKET_ITEM_TYPE: { PHYSICAL: 'PHYSICAL'; VIRTUAL: 'VIRTUAL' };
    static PAYMENT_CHANNEL: { WEB: 'WEB' };
  }

  export = Iyzipay;
}
