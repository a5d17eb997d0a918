import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { smallModelContract } from './helpers/smallContract.js';

smallModelContract('wasm');
