export * from './carts';
export * from './cart-lines';
export * from './orders';
export * from './replace-unless-newer';
