export * from './subscription.module';
export * from './subscription.types';
export { renderSubscription } from './subscription.renderer';
