import { render } from 'preact';
import '../style.css';
import { OpsConsole } from './ops-console';

render(<OpsConsole />, document.getElementById('app')!);
