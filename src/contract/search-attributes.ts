import { defineSearchAttributeKey } from '@temporalio/common';

/** The custom search attributes (Keyword) the dev server registers at start; ops filter runs by them. */
export const CartId = defineSearchAttributeKey('CartId', 'KEYWORD');
export const Sku = defineSearchAttributeKey('Sku', 'KEYWORD');
export const OrderId = defineSearchAttributeKey('OrderId', 'KEYWORD');
export const CustomerId = defineSearchAttributeKey('CustomerId', 'KEYWORD');
export const HoldStatus = defineSearchAttributeKey('HoldStatus', 'KEYWORD');
