// Official Turbo parity for the same real ViT-Tiny exported from HF TFViTForImageClassification
// through the real tensorflowjs_converter (converters/python/export_vit_tiny.py).
import * as path from 'path';
import { describeVitTinyParity } from '../helpers/vit_tiny_parity';

describeVitTinyParity('tensorflowjs_converter', path.resolve(__dirname, '..', '..', 'models', 'vit-tiny-patch16-224-tfjs-converter'));
