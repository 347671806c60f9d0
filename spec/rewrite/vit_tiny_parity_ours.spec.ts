// Official Turbo parity for the embedded model, converted from safetensors by our converter.
import { EMBEDDED_MODEL_DIR } from '../../src/convert';
import { describeVitTinyParity } from '../helpers/vit_tiny_parity';

describeVitTinyParity('our safetensors converter', EMBEDDED_MODEL_DIR);
