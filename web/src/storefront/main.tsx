import { render } from 'preact';
import '../style.css';
import { Storefront } from './storefront';

render(<Storefront />, document.getElementById('app')!);
