import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { smallModelContract } from './helpers/smallContract.js';

smallModelContract('cpu');
